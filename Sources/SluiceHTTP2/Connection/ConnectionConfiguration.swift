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

    public init() {}
}
