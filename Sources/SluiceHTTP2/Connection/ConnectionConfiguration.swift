/// Liveness settings of an HTTP/2 connection.
public struct ConnectionConfiguration: Sendable {
    /// After this long without hearing from the peer, a PING is sent.
    public var keepaliveInterval: Duration = .seconds(60)
    /// A PING unanswered for this long closes the connection.
    public var keepaliveTimeout: Duration = .seconds(20)
    /// A server connection with no open stream for this long is closed with GOAWAY.
    public var idleTimeout: Duration = .seconds(300)
    /// A connection whose TLS handshake has not completed by then is closed.
    public var handshakeTimeout: Duration = .seconds(10)
    /// A server connection whose client has not sent its HTTP/2 connection preface (the
    /// magic string and a SETTINGS frame) this long after TLS completed is closed.
    public var prefaceTimeout: Duration = .seconds(10)
    /// A stream that has not moved for this long is reset (CANCEL): its handler waits for
    /// request bytes that do not come, or its response waits for a window the client does
    /// not open. Stalled streams would otherwise hold their buffers for ever.
    public var streamStallTimeout: Duration = .seconds(60)

    public init() {}
}
