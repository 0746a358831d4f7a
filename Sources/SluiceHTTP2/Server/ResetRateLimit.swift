import NIOCore

/// How many stream resets a server connection tolerates, counting both directions: resets
/// the client sends (rapid reset, CVE-2023-44487) and resets the server sends because of
/// what the client did (MadeYouReset, CVE-2025-8671: nghttp2 resets a stream whose window
/// the client overflowed; streams past the limit; abandoned header blocks; stalled
/// streams). Resets with NO_ERROR, and
/// refusals because the whole server is at its call limit, do not count.
///
/// A token bucket: `burst` resets at once, refilled at `perSecond`. A connection that runs
/// out gets GOAWAY ENHANCE_YOUR_CALM and is closed.
public struct ResetRateLimit: Sendable {
    public var burst: Int = 400
    public var perSecond: Int = 40

    public init() {}
}

/// The running count of one connection against its `ResetRateLimit`.
struct ResetBucket {
    private let limit: ResetRateLimit
    private var tokens: Double
    private var refilledAt: NIODeadline

    init(limit: ResetRateLimit, now: NIODeadline = .now()) {
        self.limit = limit
        self.tokens = Double(limit.burst)
        self.refilledAt = now
    }

    /// Counts one reset; false once the connection has used up its budget.
    mutating func take(now: NIODeadline = .now()) -> Bool {
        let elapsed = Double((now - refilledAt).nanoseconds) / 1e9
        tokens = min(Double(limit.burst), tokens + elapsed * Double(limit.perSecond))
        refilledAt = now
        tokens -= 1
        return tokens >= 0
    }
}
