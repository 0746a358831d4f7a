import SluiceRPC

/// The server role of a connection: each request stream becomes a call, run by the
/// dispatcher in a task of its own that is cancelled when the client resets the stream or
/// the connection is lost.
///
/// Confined to the connection's event loop (see `HTTP2ConnectionHandler`).
// Safe because every use happens on the connection's event loop (HTTP2ConnectionHandler's confinement).
final class ServerConnection: ConnectionRole, @unchecked Sendable {
    private let dispatcher: CallDispatcher
    private let stats: ServerTransportStats
    private weak var connection: HTTP2ConnectionHandler?
    private var streams: [Int32: (io: StreamIO, task: Task<Void, Never>?)] = [:]
    /// Set by a graceful shutdown: close the connection once the last stream ends.
    private var isDraining = false

    init(dispatcher: CallDispatcher, stats: ServerTransportStats) {
        self.dispatcher = dispatcher
        self.stats = stats
    }

    func attach(to connection: HTTP2ConnectionHandler) {
        self.connection = connection
    }

    func connectionEstablished() {}

    func connectionClosed(error: Error) {
        for (_, entry) in streams {
            // Cancel before failing the I/O, so the handler already sees itself cancelled
            // when its pending read or write fails.
            entry.task?.cancel()
            entry.io.close(error: error)
        }
        streams.removeAll()
    }

    var hasOpenStreams: Bool { !streams.isEmpty }

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

    // MARK: Session events

    func session(_ session: HTTP2Session, receivedHeaders fields: [HeaderField], kind: HeaderBlockKind,
                 streamID: Int32, endStream: Bool, oversized: Bool) {
        guard let connection else { return }
        guard kind == .request else {
            // Trailers from a client end its request side; gRPC clients do not send them.
            streams[streamID]?.io.deliverEndOfStream()
            return
        }
        connection.streamActivity()
        let io = StreamIO(eventLoop: connection.eventLoop, connection: connection)
        io.streamID = streamID
        if endStream { io.deliverEndOfStream() }
        guard !oversized else {
            streams[streamID] = (io, nil)
            rejectOversizedHeaders(streamID: streamID, session: session)
            return
        }
        let head = ServerRequestHead(headers: fields, peer: connection.peer, remoteAddress: connection.remoteAddress)
        let dispatcher = self.dispatcher
        let stats = self.stats
        stats.callStarted()
        let task = Task {
            await dispatcher.handle(head, stream: HTTP2ServerStream(io: io))
            stats.callEnded()
        }
        streams[streamID] = (io, task)
    }

    func session(_ session: HTTP2Session, receivedData bytes: [UInt8], streamID: Int32) {
        guard let io = streams[streamID]?.io else {
            session.consume(streamID: streamID, count: bytes.count)
            return
        }
        io.deliver(.data(bytes))
        stats.observeBuffered(io.bufferedInboundBytes)
    }

    func session(_ session: HTTP2Session, receivedEndOfStream streamID: Int32) {
        streams[streamID]?.io.deliverEndOfStream()
    }

    func session(_ session: HTTP2Session, closedStream streamID: Int32, errorCode: HTTP2ErrorCode) {
        guard let entry = streams.removeValue(forKey: streamID) else { return }
        connection?.streamActivity()
        if errorCode == .noError && entry.io.outbound.isComplete {
            entry.io.close(error: nil)
        } else {
            entry.task?.cancel()
            entry.io.close(error: RPCError(.cancelled, "the client reset the stream (\(errorCode))"))
        }
        if isDraining && streams.isEmpty { connection?.close() }
    }

    func session(_ session: HTTP2Session, outboundDataFor streamID: Int32) -> OutboundData? {
        streams[streamID]?.io.outbound
    }

    func session(_ session: HTTP2Session, drainedOutboundOf streamID: Int32) {
        streams[streamID]?.io.outboundDrained()
    }

    func session(_ session: HTTP2Session, receivedGoAway lastStreamID: Int32, errorCode: HTTP2ErrorCode) {}

    func sessionReceivedPingAck(_ session: HTTP2Session) {
        connection?.pingAcknowledged()
    }

    func sessionReceivedSettings(_ session: HTTP2Session) {}

    /// Answers a request whose header list passed the limit with RESOURCE_EXHAUSTED.
    private func rejectOversizedHeaders(streamID: Int32, session: HTTP2Session) {
        let message = "request headers exceed the limit of \(session.settings.maxHeaderListSize) bytes"
        try? session.submitResponse(
            streamID: streamID, headers: StatusFields.trailersOnly(.resourceExhausted, message), hasBody: false)
        connection?.flush()
    }
}
