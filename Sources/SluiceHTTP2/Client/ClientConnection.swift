import SluiceRPC

/// The client role of a connection: opens request streams and routes what the server sends
/// back to them.
///
/// Confined to the connection's event loop (see `HTTP2ConnectionHandler`).
// Safe because every use happens on the connection's event loop (HTTP2ConnectionHandler's confinement).
final class ClientConnection: ConnectionRole, @unchecked Sendable {
    private weak var connection: HTTP2ConnectionHandler?
    private var streams: [Int32: StreamIO] = [:]
    /// Completed once the connection can carry streams, or failed if it never will.
    private var readiness: [CheckedContinuation<Void, Error>] = []
    private var isReady = false
    private var isEstablished = false
    /// Streams wait for the server's SETTINGS: before them nghttp2 cannot know the server's
    /// concurrent stream limit, and streams over it would be refused instead of queued.
    private var hasServerSettings = false
    /// Why the connection can take no new streams; nil while it can.
    private(set) var unusableReason: RPCError?

    func attach(to connection: HTTP2ConnectionHandler) {
        self.connection = connection
    }

    func connectionEstablished() {
        isEstablished = true
        becomeReadyIfPossible()
    }

    func sessionReceivedSettings(_ session: HTTP2Session) {
        hasServerSettings = true
        becomeReadyIfPossible()
    }

    private func becomeReadyIfPossible() {
        guard isEstablished, hasServerSettings, !isReady else { return }
        isReady = true
        readiness.forEach { $0.resume() }
        readiness.removeAll()
    }

    func connectionClosed(error: Error) {
        let reason = (error as? RPCError) ?? RPCError(.unavailable, "the connection was lost: \(error)")
        if unusableReason == nil { unusableReason = reason }
        readiness.forEach { $0.resume(throwing: reason) }
        readiness.removeAll()
        for (_, io) in streams { io.close(error: reason) }
        streams.removeAll()
    }

    var hasOpenStreams: Bool { !streams.isEmpty }

    /// Waits until TLS and HTTP/2 are established.
    func waitUntilReady(_ continuation: CheckedContinuation<Void, Error>) {
        if let unusableReason {
            continuation.resume(throwing: unusableReason)
        } else if isReady {
            continuation.resume()
        } else {
            readiness.append(continuation)
        }
    }

    /// Opens a stream with the request headers; its body comes from the returned buffers.
    func open(headers: [HeaderField]) throws -> StreamIO {
        guard let connection, unusableReason == nil, connection.session.canOpenStream else {
            throw unusableReason ?? RPCError(.unavailable, "the connection is closing")
        }
        let io = StreamIO(eventLoop: connection.eventLoop, connection: connection)
        io.streamID = try connection.session.submitRequest(headers: headers)
        streams[io.streamID] = io
        connection.flush()
        return io
    }

    /// Resets a stream the caller no longer wants.
    func cancel(_ io: StreamIO) {
        guard streams[io.streamID] != nil, let connection else { return }
        connection.session.submitReset(streamID: io.streamID, errorCode: .cancel)
        connection.flush()
    }

    // MARK: Session events

    func session(_ session: HTTP2Session, receivedHeaders fields: [HeaderField], kind: HeaderBlockKind,
                 streamID: Int32, endStream: Bool, oversized: Bool) {
        guard let io = streams[streamID] else { return }
        // The block's fields were dropped at the header list limit: the call ends with a status
        // that says so, not as a response without :status or grpc-status ("HTTP status 0").
        let fields = oversized
            ? GRPCResponseHead.make(fields: StatusFields.status(
                .internal, "the server sent a header block larger than this client's header list limit"))
            : fields
        io.deliver(kind == .trailers ? .trailers(fields) : .headers(fields))
        if endStream { io.deliverEndOfStream() }
    }

    func session(_ session: HTTP2Session, receivedData bytes: [UInt8], streamID: Int32) {
        guard let io = streams[streamID] else {
            session.consume(streamID: streamID, count: bytes.count)
            return
        }
        io.deliver(.data(bytes))
    }

    func session(_ session: HTTP2Session, receivedEndOfStream streamID: Int32) {
        streams[streamID]?.deliverEndOfStream()
    }

    func session(_ session: HTTP2Session, closedStream streamID: Int32, errorCode: HTTP2ErrorCode) {
        guard let io = streams.removeValue(forKey: streamID) else { return }
        if errorCode == .noError || io.isInboundEnded {
            io.close(error: nil)
        } else {
            io.close(error: RPCError(errorCode.statusCode, "the server reset the stream (\(errorCode))"))
        }
    }

    func session(_ session: HTTP2Session, outboundDataFor streamID: Int32) -> OutboundData? {
        streams[streamID]?.outbound
    }

    func session(_ session: HTTP2Session, windowUpdated streamID: Int32) {
        if streamID != 0 { streams[streamID]?.outboundBytesMoved() }
    }

    func session(_ session: HTTP2Session, drainedOutboundOf streamID: Int32) {
        guard let io = streams[streamID] else { return }
        io.outboundDrained()
        io.outboundBytesMoved()
    }

    func session(_ session: HTTP2Session, receivedGoAway lastStreamID: Int32, errorCode: HTTP2ErrorCode) {
        unusableReason = RPCError(.unavailable, "the server is going away (\(errorCode))")
        // Streams the server never processed will not be answered: fail them so callers retry.
        for (streamID, io) in streams where streamID > lastStreamID {
            io.close(error: RPCError(.unavailable, "the server went away before processing the call"))
            streams.removeValue(forKey: streamID)
        }
    }

    func sessionReceivedPingAck(_ session: HTTP2Session) {
        connection?.pingAcknowledged()
    }
}
