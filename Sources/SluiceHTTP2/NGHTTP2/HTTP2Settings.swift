/// The HTTP/2 limits and window sizes one side of a connection advertises and enforces.
public struct HTTP2Settings: Sendable {
    /// SETTINGS_MAX_CONCURRENT_STREAMS: streams the peer may open at once; more are refused.
    public var maxConcurrentStreams: Int = 256
    /// SETTINGS_MAX_HEADER_LIST_SIZE: the largest header list accepted, in bytes (RFC 9113
    /// counting: name + value + 32 per field).
    public var maxHeaderListSize: Int = 16 * 1024
    /// SETTINGS_INITIAL_WINDOW_SIZE: bytes the peer may send on a stream before the
    /// receiver takes them. Bounds the memory one stream can hold.
    public var streamWindowSize: Int = 8 * 1024 * 1024
    /// The largest the stream window grows to when a long round trip, not the application,
    /// holds the peer back (see `ReceiveWindowTuner`); nil keeps `streamWindowSize` fixed.
    /// Never more than `connectionWindowSize`.
    public var maxStreamWindowSize: Int? = nil
    /// The connection-level receive window: bounds the memory all streams of a connection
    /// can hold together.
    public var connectionWindowSize: Int = 64 * 1024 * 1024
    /// SETTINGS_MAX_FRAME_SIZE: the largest frame payload accepted.
    public var maxFrameSize: Int = 64 * 1024

    public init() {}
}
