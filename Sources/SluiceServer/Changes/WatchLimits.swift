/// The numbers that bound a watcher (README "Change feed").
public struct WatchLimits: Sendable {
    /// Most changes in one WatchChangesResponse.
    public var batchSize = 100
    /// A watcher whose client stopped taking messages (a write waited at least `slowWrite`)
    /// and that is more than this many positions behind the head is ended with ABORTED.
    public var maxLag: Int64 = 10_000
    /// How long a write may wait for the client's flow-control window before the watcher
    /// counts as slow.
    public var slowWrite: Duration = .seconds(1)
    /// A watcher whose client takes nothing for this long is ended with ABORTED naming its
    /// cursor (below the transport's stream stall timeout, which would reset it without one).
    public var stallLimit: Duration = .seconds(30)
    /// A heartbeat (a response with no changes, advancing the cursor past changes the caller
    /// cannot see) goes out after this long without a message, if the cursor moved ...
    public var heartbeatInterval: Duration = .seconds(30)
    /// ... or as soon as this many invisible positions were skipped.
    public var heartbeatSkip: Int64 = 1000

    public init() {}
}
