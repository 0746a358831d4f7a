/// Per-call settings of a client call.
public struct CallOptions: Sendable {
    /// How long the client waits before failing the call with DEADLINE_EXCEEDED; the server
    /// learns of it through `grpc-timeout`. nil waits for ever.
    public var timeout: Duration?
    /// Custom metadata sent with the request headers.
    public var metadata: Metadata
    /// Compresses request messages; nil sends them uncompressed.
    public var compression: MessageCompression?
    /// The largest response message accepted, in bytes.
    public var maxReceiveMessageSize: Int
    /// How long the call may go without moving — nothing from the server, no request bytes
    /// taken — before it fails with UNAVAILABLE and its stream is reset; nil never. For
    /// streaming calls too long for a `timeout` (see ``ProgressWatchedStream``).
    public var idleTimeout: Duration?

    public init(
        timeout: Duration? = nil, metadata: Metadata = [:], compression: MessageCompression? = nil,
        maxReceiveMessageSize: Int = 4 * 1024 * 1024, idleTimeout: Duration? = nil
    ) {
        self.timeout = timeout
        self.metadata = metadata
        self.compression = compression
        self.maxReceiveMessageSize = maxReceiveMessageSize
        self.idleTimeout = idleTimeout
    }
}

/// The single response of a unary or client-streaming call, with its metadata.
public struct ClientResponse<Message: Sendable>: Sendable {
    public var message: Message
    public var initialMetadata: Metadata
    public var trailingMetadata: Metadata
}
