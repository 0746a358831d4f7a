/// Numbers the transport keeps about itself, reported by EchoService.GetStats.
/// The executable that owns the transport supplies them; zero when unknown.
public struct TransportStats: Sendable, Equatable {
    /// Largest number of request bytes held for any one stream: received but not yet
    /// taken by its handler.
    public var maxBufferedStreamBytes: Int64
    /// The per-stream receive window the server advertises: the largest any connection has
    /// grown to, or the configured one.
    public var streamWindowBytes: Int64
    /// Calls currently running.
    public var activeCalls: Int32

    public init(maxBufferedStreamBytes: Int64 = 0, streamWindowBytes: Int64 = 0, activeCalls: Int32 = 0) {
        self.maxBufferedStreamBytes = maxBufferedStreamBytes
        self.streamWindowBytes = streamWindowBytes
        self.activeCalls = activeCalls
    }
}
