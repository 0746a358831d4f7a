import NIOCore

/// What makes a connection a server or a client connection: it receives the session's
/// events and owns the connection's streams.
protocol ConnectionRole: HTTP2SessionDelegate {
    /// Called once, when the handler that carries this role is created.
    func attach(to connection: HTTP2ConnectionHandler)
    /// TLS (if any) is established with ALPN h2: streams may flow.
    func connectionEstablished()
    /// The connection is gone; every open stream must fail with `error`.
    func connectionClosed(error: Error)
    /// Whether any stream is still open (keeps an idle connection alive, delays drain).
    var hasOpenStreams: Bool { get }
    /// The input of one read has been parsed and the frames it caused flushed.
    func inputProcessed()
    /// Called on every liveness tick (twice a second) while the connection is established.
    func checkStreams(now: NIODeadline)
    /// Request bytes of a stream arrived (positive), or were taken or dropped (negative).
    func unreadBytesChanged(by delta: Int)
    /// Whether the connection may read more from its socket now.
    var mayRead: Bool { get }
}

extension ConnectionRole {
    func inputProcessed() {}
    func checkStreams(now: NIODeadline) {}
    func unreadBytesChanged(by delta: Int) {}
    var mayRead: Bool { true }
}
