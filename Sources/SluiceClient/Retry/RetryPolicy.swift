import SluiceBackoff
import SluiceRPC

/// How transient failures are retried: the project's `Backoff` (exponential, full jitter). Before
/// retry n (from 1) the caller sleeps a uniformly random time between zero and
/// min(maxDelay, baseDelay × 2^(n-1)). Only failures `FailureKind` calls transient are retried.
///
/// A failure carrying the gRPC retry pushback trailer (`grpc-retry-pushback-ms`, sent with a
/// server's rate-limit refusal) is retried after exactly that many milliseconds (at most
/// `maxPushback`) instead of the backoff; a negative pushback means "do not retry". Such a
/// retry does not count against `maxRetries` (the server is up and said when to come back:
/// a long transfer at a limited rate must not fail for having been paced), but the waits for
/// pushbacks of one operation are bounded in total by `maxPushbackTotal`.
public struct RetryPolicy: Sendable, Equatable {
    /// Retries per operation after its first attempt.
    public var maxRetries: Int
    public var baseDelay: Duration
    public var maxDelay: Duration
    /// The longest server pushback honoured; a longer one is waited for this long.
    public var maxPushback: Duration
    /// The most time one operation spends waiting for pushbacks before it gives up.
    public var maxPushbackTotal: Duration

    public init(
        maxRetries: Int = 8, baseDelay: Duration = .milliseconds(200), maxDelay: Duration = .seconds(10),
        maxPushback: Duration = .seconds(60), maxPushbackTotal: Duration = .seconds(600)
    ) {
        self.maxRetries = max(0, maxRetries)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.maxPushback = maxPushback
        self.maxPushbackTotal = maxPushbackTotal
    }

    /// The trailer of the gRPC retry pushback convention.
    public static let pushbackTrailer = Metadata.retryPushbackKey

    /// The wait a failure's pushback trailer asks for: nil without one (or an unreadable one),
    /// a negative duration when the server asks not to retry.
    public func pushback(of error: RPCError) -> Duration? {
        guard let milliseconds = error.pushbackMilliseconds else { return nil }
        if milliseconds < 0 { return .milliseconds(-1) }
        let asked = Duration.milliseconds(milliseconds)
        return asked < maxPushback ? asked : maxPushback
    }

    /// The backoff between retries: `baseDelay` doubling up to `maxDelay`, with full jitter.
    public var backoff: Backoff { Backoff(baseDelay: baseDelay, maxDelay: maxDelay) }

    /// The longest sleep before retry `retry` (from 1).
    public func delayCeiling(beforeRetry retry: Int) -> Duration {
        backoff.ceiling(beforeRetry: retry)
    }

    /// A sleep before retry `retry`, drawn uniformly from zero to its ceiling.
    public func delay(beforeRetry retry: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        backoff.delay(beforeRetry: retry, using: &generator)
    }

    /// Runs `body`, retrying it while it fails transiently and retries are left. Tells
    /// `onRetry` before each sleep. When retries run out, throws `RetriesExhaustedError`;
    /// other failures are thrown as they are.
    public func run<Result>(
        _ operation: String, onRetry: (RetryNotice) -> Void = { _ in },
        _ body: () async throws -> Result
    ) async throws -> Result {
        var generator = SystemRandomNumberGenerator()
        var retry = 0
        var attempts = 1
        var pushedBack = Duration.zero
        while true {
            do {
                return try await body()
            } catch let error as RPCError where FailureKind(error) == .transient {
                let pushback = pushback(of: error)
                if let pushback, pushback < .zero { throw error }
                let delay: Duration
                if let pushback {
                    pushedBack += pushback
                    guard pushedBack <= maxPushbackTotal else {
                        throw RetriesExhaustedError(operation: operation, attempts: attempts, lastError: error)
                    }
                    delay = pushback
                } else {
                    retry += 1
                    guard retry <= maxRetries else {
                        throw RetriesExhaustedError(operation: operation, attempts: attempts, lastError: error)
                    }
                    delay = self.delay(beforeRetry: retry, using: &generator)
                }
                attempts += 1
                onRetry(RetryNotice(operation: operation, retry: attempts - 1, delay: delay, error: error))
                try await Task.sleep(for: delay)
            }
        }
    }
}

/// A retry about to happen, for progress reports.
public struct RetryNotice: Sendable, Equatable {
    public var operation: String
    /// Which retry this is, from 1.
    public var retry: Int
    public var delay: Duration
    public var error: RPCError
}

extension RPCError {
    /// The `grpc-retry-pushback-ms` trailer's milliseconds: nil without one (or an unreadable
    /// one), negative when the server asks not to retry.
    var pushbackMilliseconds: Int64? {
        trailers.firstString(Metadata.retryPushbackKey).flatMap { Int64($0) }
    }
}
