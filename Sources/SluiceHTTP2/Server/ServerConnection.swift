import NIOCore
import SluiceMetrics
import SluiceRPC

/// The server role of a connection: each request stream becomes a call, run by the
/// dispatcher in a task of its own that is cancelled when the stream is reset or the
/// connection is lost.
///
/// A call holds one of the connection's `maxConcurrentStreams` slots until its handler task
/// has finished, not merely until its stream closed: a client that resets its streams at
/// once (rapid reset) cannot make the server run more handlers than the limit. Requests
/// that arrive while every slot is taken wait (their streams stay open, within the
/// advertised limit) and start as slots free up. Handlers start only once the input that
/// opened their streams has been parsed and answered, so a stream reset in the same read
/// (by the client, or by the server because of a frame the client sent) never starts one. Streams past the advertised limit are
/// refused with REFUSED_STREAM, as are streams while the whole process runs
/// `maxConcurrentCalls` handlers. Resets in either direction are counted against
/// `resetRateLimit`; a connection past it is closed with ENHANCE_YOUR_CALM.
///
/// Confined to the connection's event loop (see `HTTP2ConnectionHandler`).
// Safe because every use happens on the connection's event loop (HTTP2ConnectionHandler's confinement).
final class ServerConnection: ConnectionRole, @unchecked Sendable {
    private let dispatcher: CallDispatcher
    private let stats: ServerTransportStats
    private let maxConcurrentStreams: Int
    private let maxConcurrentCalls: Int
    private let stallTimeout: TimeAmount
    /// What the request messages being assembled on this connection may hold together.
    private let requestMemory: RequestMemoryBudget
    /// The process's request bytes not yet taken by handlers, and this connection's share.
    private let unreadRequests: UnreadRequestBudget
    private var unreadBytes = 0
    /// Set once the connection is gone: its share has left the process's count.
    private var isClosed = false
    private weak var connection: HTTP2ConnectionHandler?
    /// Streams open in nghttp2.
    private var streams: [Int32: StreamIO] = [:]
    /// Requests waiting for a handler slot, oldest first.
    private var waiting: [(streamID: Int32, head: ServerRequestHead)] = []
    /// Handler tasks that have not finished, whether or not their stream is still open.
    private var running: [Int32: Task<Void, Never>] = [:]
    private var resets: ResetBucket
    /// Set once the connection used up its reset budget: it is closing, nothing new starts.
    private var isAbusive = false
    /// Set by a graceful shutdown: close the connection once the last stream ends.
    private var isDraining = false

    init(
        dispatcher: CallDispatcher, stats: ServerTransportStats, unreadRequests: UnreadRequestBudget,
        configuration: HTTP2ServerConfiguration
    ) {
        self.dispatcher = dispatcher
        self.stats = stats
        self.unreadRequests = unreadRequests
        self.maxConcurrentStreams = configuration.http2.maxConcurrentStreams
        self.maxConcurrentCalls = configuration.maxConcurrentCalls
        self.stallTimeout = TimeAmount(configuration.connection.streamStallTimeout)
        self.requestMemory = RequestMemoryBudget(bytes: configuration.requestMemoryPerConnection)
        self.resets = ResetBucket(limit: configuration.resetRateLimit)
    }

    func attach(to connection: HTTP2ConnectionHandler) {
        self.connection = connection
    }

    func connectionEstablished() {}

    func connectionClosed(error: Error) {
        // Cancel before failing the I/O, so a handler already sees itself cancelled when
        // its pending read or write fails. The tasks leave `running` as they finish.
        for task in running.values { task.cancel() }
        for io in streams.values { io.close(error: error) }
        streams.removeAll()
        waiting.removeAll()
        // Bytes of streams that closed normally may still wait for handlers that are ending;
        // they stop counting for the process now, whenever those handlers let go of them.
        if !isClosed { unreadRequests.adjust(by: -unreadBytes) }
        isClosed = true
    }

    func unreadBytesChanged(by delta: Int) {
        unreadBytes += delta
        guard !isClosed else { return }
        unreadRequests.adjust(by: delta)
        if delta < 0, mayRead { connection?.resumeReading() }
    }

    /// A connection holding none of the unread bytes reads on whatever the process holds: its
    /// handlers are waiting for input, not busy.
    var mayRead: Bool { unreadBytes == 0 || !unreadRequests.isExceeded }

    var hasOpenStreams: Bool { !streams.isEmpty || !running.isEmpty }

    /// Lets running calls finish, then closes. The client is first warned (GOAWAY with the
    /// largest stream id) and, one second later, told the last stream that will be served,
    /// so streams it opened meanwhile are not lost in the race.
    func drain() {
        guard let connection, !isDraining else { return }
        isDraining = true
        connection.shutdownNotice()
        connection.eventLoop.scheduleTask(in: .seconds(1)) { [weak self] in
            self?.connection?.goAway()
        }
    }

    /// Resets streams that have not moved for the stall timeout.
    func checkStreams(now: NIODeadline) {
        guard let connection else { return }
        var resetAny = false
        for (streamID, io) in streams where io.isStalled(now: now, timeout: stallTimeout) {
            connection.logger.info("resetting a stalled stream", metadata: [
                "peer": "\(connection.remoteAddress ?? "?")", "stream": "\(streamID)",
                "stall_timeout_s": "\(stallTimeout.nanoseconds / 1_000_000_000)"])
            connection.session.submitReset(streamID: streamID, errorCode: .cancel)
            countReset()
            resetAny = true
        }
        if resetAny { connection.flush() }
    }

    // MARK: Session events

    func session(_ session: HTTP2Session, receivedHeaders fields: [HeaderField], kind: HeaderBlockKind,
                 streamID: Int32, endStream: Bool, oversized: Bool) {
        guard let connection else { return }
        guard kind == .request else {
            // Trailers from a client end its request side; gRPC clients do not send them.
            streams[streamID]?.deliverEndOfStream()
            return
        }
        connection.streamActivity()
        guard !isAbusive, streams.count < maxConcurrentStreams else {
            // Past the advertised limit (or closing): refuse this stream, keep the others.
            session.submitReset(streamID: streamID, errorCode: .refusedStream)
            countReset()
            return
        }
        let io = StreamIO(eventLoop: connection.eventLoop, connection: connection)
        io.streamID = streamID
        if endStream { io.deliverEndOfStream() }
        streams[streamID] = io
        guard !oversized else {
            let message = "request headers exceed the limit of \(session.settings.maxHeaderListSize) bytes"
            // The same headers would be refused again: a negative pushback tells clients not to retry.
            refuse(
                io, httpStatus: 200, .resourceExhausted, message, reason: .headerSize, path: "-", session: session,
                extra: [HeaderField(Metadata.retryPushbackKey, "-1")])
            return
        }
        switch GRPCRequestHead.read(fields) {
        case .call(let path, let callFields):
            let head = ServerRequestHead(
                path: path, fields: callFields, peer: connection.peer, remoteAddress: connection.remoteAddress)
            waiting.append((streamID, head))
        case .refused(let httpStatus, let message, let reason):
            refuse(
                io, httpStatus: httpStatus, .internal, message, reason: reason,
                path: fields.first(named: ":path") ?? "-", session: session)
        }
    }

    func inputProcessed() {
        if startWaitingCalls() { connection?.flush() }
    }

    /// Starts waiting requests while the connection and the process have handler slots.
    /// Returns whether it refused any (their resets are waiting to be sent).
    @discardableResult
    private func startWaitingCalls() -> Bool {
        var refused = false
        while running.count < maxConcurrentStreams, !waiting.isEmpty {
            let (streamID, head) = waiting.removeFirst()
            guard let io = streams[streamID] else { continue }
            guard stats.tryCallStarted(limit: maxConcurrentCalls) else {
                connection?.session.submitReset(streamID: streamID, errorCode: .refusedStream)
                refused = true
                continue
            }
            let dispatcher = self.dispatcher
            let stats = self.stats
            let eventLoop = io.eventLoop
            let stream = HTTP2ServerStream(io: io, connectionRequestMemory: requestMemory)
            running[streamID] = Task {
                await dispatcher.handle(head, stream: stream)
                stats.callEnded()
                eventLoop.execute {
                    io.abandon()
                    self.callFinished(streamID)
                }
            }
        }
        return refused
    }

    private func callFinished(_ streamID: Int32) {
        running.removeValue(forKey: streamID)
        startWaitingCalls()
        connection?.flush()
        if isDraining && !hasOpenStreams { connection?.close() }
    }

    func session(_ session: HTTP2Session, receivedData bytes: [UInt8], streamID: Int32) {
        guard let io = streams[streamID] else {
            session.consume(streamID: streamID, count: bytes.count)
            return
        }
        io.deliver(.data(bytes))
        stats.observeBuffered(io.bufferedInboundBytes)
    }

    func session(_ session: HTTP2Session, receivedEndOfStream streamID: Int32) {
        streams[streamID]?.deliverEndOfStream()
    }

    func session(_ session: HTTP2Session, closedStream streamID: Int32, errorCode: HTTP2ErrorCode) {
        guard let io = streams.removeValue(forKey: streamID) else { return }
        connection?.streamActivity()
        if errorCode == .noError && io.outbound.isComplete {
            io.close(error: nil)
        } else {
            running[streamID]?.cancel()
            waiting.removeAll { $0.streamID == streamID }
            io.close(error: RPCError(.cancelled, "the stream was reset (\(errorCode))"))
        }
        if isDraining && !hasOpenStreams { connection?.close() }
    }

    func session(_ session: HTTP2Session, streamReset streamID: Int32, errorCode: HTTP2ErrorCode, byPeer: Bool) {
        guard errorCode != .noError else { return }
        countReset()
    }

    /// Counts a reset the client sent or caused; past the limit the connection is closed.
    private func countReset() {
        guard !isAbusive, !resets.take() else { return }
        isAbusive = true
        // Inside nghttp2's callbacks no frame may be submitted and sent: act right after.
        connection?.eventLoop.execute { [weak self] in self?.closeAbusiveConnection() }
    }

    private func closeAbusiveConnection() {
        guard let connection else { return }
        connection.logger.notice("closing a connection that reset too many streams (ENHANCE_YOUR_CALM)",
                                 metadata: ["peer": "\(connection.remoteAddress ?? "?")"])
        connection.goAwayAndClose(.enhanceYourCalm)
    }

    func session(_ session: HTTP2Session, outboundDataFor streamID: Int32) -> OutboundData? {
        streams[streamID]?.outbound
    }

    func session(_ session: HTTP2Session, drainedOutboundOf streamID: Int32) {
        streams[streamID]?.outboundDrained()
    }

    func session(_ session: HTTP2Session, windowUpdated streamID: Int32) {
        if streamID == 0 {
            for io in streams.values { io.windowOpened() }
        } else {
            streams[streamID]?.windowOpened()
        }
    }

    func session(_ session: HTTP2Session, receivedGoAway lastStreamID: Int32, errorCode: HTTP2ErrorCode) {}

    func sessionReceivedPingAck(_ session: HTTP2Session) {
        connection?.pingAcknowledged()
    }

    func sessionReceivedSettings(_ session: HTTP2Session) {}

    var unreadInboundBytes: Int { unreadBytes }

    func session(_ session: HTTP2Session, streamWindowGrewTo window: Int) {
        stats.observeGrownStreamWindow(window)
        connection?.logger.debug("stream window grew", metadata: [
            "peer": "\(connection?.remoteAddress ?? "?")", "window": "\(window)",
        ])
    }

    /// Answers a request that cannot become a call with one trailers-only HEADERS frame; what
    /// the client still sends on the stream is dropped as it arrives. It gets the access log's
    /// line here, as the dispatcher never sees it: no principal, no request id.
    private func refuse(
        _ io: StreamIO, httpStatus: Int, _ code: StatusCode, _ message: String,
        reason: SluiceMetrics.RequestRefusal, path: String, session: HTTP2Session, extra: [HeaderField] = []
    ) {
        SluiceMetrics.requestRefused(reason)
        connection?.logger.info("call failed", metadata: [
            "method": "\(path)", "status": "\(code)", "principal": "-",
            "remote": "\(connection?.remoteAddress ?? "-")", "request_id": "-",
            "bytes_in": "0", "bytes_out": "0", "duration_ms": "0", "error": "\(message)",
        ])
        io.abandon()
        try? session.submitResponse(
            streamID: io.streamID,
            headers: GRPCResponseHead.make(httpStatus: httpStatus, fields: StatusFields.status(code, message) + extra),
            hasBody: false)
        connection?.flush()
    }
}
