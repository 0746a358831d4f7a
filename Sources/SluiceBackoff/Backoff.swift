import SluiceDuration

/// Sluice's one policy for waiting before trying again: exponential backoff with full jitter.
/// Before retry n (from 1) wait a uniformly random time between zero and
/// min(maxDelay, baseDelay × 2^(n-1)). The randomness matters as much as the growth: the many
/// parties one failure hit at once (a client's parallel transfers, the connections of every
/// pool of every sluiced on one database) spread out instead of coming back in step.
///
/// Each use picks its own two durations; the shape is the same everywhere: the client's
/// `RetryPolicy`, S3 requests, reconnecting to PostgreSQL, a transaction that lost a race.
public struct Backoff: Sendable, Hashable {
    /// The ceiling before the first retry, doubled for each one after.
    public var baseDelay: Duration
    /// No ceiling grows beyond this.
    public var maxDelay: Duration

    public init(baseDelay: Duration, maxDelay: Duration) {
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The longest wait before retry `retry` (from 1).
    public func ceiling(beforeRetry retry: Int) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let grown = baseDelay * (1 << exponent)
        return grown < maxDelay ? grown : maxDelay
    }

    /// A wait before retry `retry`, drawn uniformly from zero to its ceiling.
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(beforeRetry: retry)
        let nanoseconds = ceiling.inNanoseconds
        guard nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64.random(in: 0...nanoseconds, using: &generator))
    }

    /// ``delay(beforeRetry:using:)`` with the system's random numbers.
    public func delay(beforeRetry retry: Int) -> Duration {
        var generator = SystemRandomNumberGenerator()
        return delay(beforeRetry: retry, using: &generator)
    }
}
