/// Decides when a connection's stream receive window should grow: when the window, rather
/// than the link or the application, is what limits the peer's sending. A fixed window caps
/// one stream at window / round trip (2 MiB over 50 ms: 40 MB/s); a window sized for long
/// links would let every stream of a nearby client hold that much memory for nothing.
///
/// It measures as grpc-go and grpc-core do: while data arrives it keeps one PING in flight
/// (at most one per ``measuringInterval``) and counts the bytes that arrive before the
/// acknowledgement. It doubles the window (up to
/// `limit`) only when all three hold:
/// - the peer sent at least 2/3 of a window in that round trip: the window held it back;
/// - the round trip was under twice the shortest seen: the bytes did not queue on the way,
///   so the link has room. Where the window already covers the link's bandwidth-delay
///   product, a window's worth of data takes longer to arrive than the bare round trip, and
///   the measuring PING waits behind it; on loopback that is always so;
/// - the application holds under half a window unread: a busy handler is not a reason to
///   let the peer send more.
///
/// The window never shrinks: the memory it lets a stream hold stays bounded by `limit` and,
/// for the whole process, by the server's unread request budget.
struct ReceiveWindowTuner {
    typealias Instant = ContinuousClock.Instant

    /// The stream window now in force (advertised in SETTINGS_INITIAL_WINDOW_SIZE).
    private(set) var window: Int
    /// The largest window it grows to.
    let limit: Int
    /// The shortest round trip seen: the link's own, without queueing.
    private(set) var shortestRoundTrip: Duration?
    private var pingSentAt: Instant?
    private var lastPingSentAt: Instant?
    private var bytesSincePing = 0
    private var settingsSentAt: Instant?

    init(window: Int, limit: Int) {
        self.window = window
        self.limit = max(limit, window)
    }

    /// Whether the window can still grow.
    var isTuning: Bool { window < limit }

    /// The least time between two measuring PINGs. On loopback a round trip takes well under a
    /// millisecond and the window never grows; unbounded, the measuring would cost a PING and
    /// its acknowledgement per round trip for the whole upload. Growth over a long link is
    /// delayed by at most this per doubling.
    static let measuringInterval = Duration.milliseconds(100)

    /// `count` data bytes arrived. Returns whether a measuring PING should be sent now (none
    /// is in flight, and the last left at least ``measuringInterval`` ago).
    mutating func received(_ count: Int, at now: Instant) -> Bool {
        guard isTuning else { return false }
        guard pingSentAt == nil else {
            bytesSincePing += count
            return false
        }
        if let last = lastPingSentAt, now - last < Self.measuringInterval { return false }
        pingSentAt = now
        lastPingSentAt = now
        bytesSincePing = 0
        return true
    }

    /// The measuring PING came back, with `unreadBytes` received and not yet taken by the
    /// application. Returns the new window when it should grow.
    mutating func pingAcknowledged(at now: Instant, unreadBytes: Int) -> Int? {
        guard let sentAt = pingSentAt else { return nil }
        pingSentAt = nil
        let roundTrip = now - sentAt
        observe(roundTrip)
        guard isTuning, let shortest = shortestRoundTrip,
              bytesSincePing * 3 >= window * 2,
              roundTrip < shortest * 2,
              unreadBytes * 2 < window
        else { return nil }
        window = min(limit, window * 2)
        return window
    }

    /// A SETTINGS frame left; its acknowledgement times a round trip too (the first one does
    /// so before any data can queue).
    mutating func settingsSent(at now: Instant) {
        if settingsSentAt == nil { settingsSentAt = now }
    }

    mutating func settingsAcknowledged(at now: Instant) {
        guard let sentAt = settingsSentAt else { return }
        settingsSentAt = nil
        observe(now - sentAt)
    }

    private mutating func observe(_ roundTrip: Duration) {
        shortestRoundTrip = min(shortestRoundTrip ?? roundTrip, roundTrip)
    }
}
