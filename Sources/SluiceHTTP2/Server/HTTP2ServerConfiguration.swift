import SluiceOpenSSL

/// Everything an HTTP/2 server transport needs to listen.
public struct HTTP2ServerConfiguration: Sendable {
    /// The address to bind, for example "127.0.0.1" or "::".
    public var host: String
    /// The port to bind; 0 picks a free one.
    public var port: Int
    /// TLS for every connection; nil serves cleartext h2c with prior knowledge (debugging).
    public var tls: TLSContext?
    public var http2 = HTTP2Settings()
    public var connection = ConnectionConfiguration()
    /// Call handlers that may run at once in the whole process. A connection below its own
    /// stream limit refuses new streams (REFUSED_STREAM, which clients retry) while the
    /// process is at this limit.
    public var maxConcurrentCalls = 4096
    /// Connections open at once; one accepted past it is closed at once, before TLS. Each
    /// costs a descriptor, and a process that runs out of descriptors cannot be relied on
    /// (on Linux libdispatch aborts it), so sluiced sets this to half its open-file limit.
    public var maxConnections = 10_000
    /// Bytes the request messages being assembled on one connection may reserve together
    /// (the process as a whole is bounded by `RequestMemoryBudget.process`).
    public var requestMemoryPerConnection = 128 * 1024 * 1024
    /// Request bytes the process may hold unread by handlers before busy connections stop
    /// reading (see `UnreadRequestBudget`).
    public var unreadRequestBytesLimit = 64 * 1024 * 1024
    /// Stream resets a connection may cause before it is closed with ENHANCE_YOUR_CALM.
    public var resetRateLimit = ResetRateLimit()

    public init(host: String, port: Int, tls: TLSContext?) {
        self.host = host
        self.port = port
        self.tls = tls
    }
}
