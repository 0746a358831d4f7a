import Foundation
import SluiceBackoff

/// How often and how patiently an S3 request is tried: the project's `Backoff` (a random wait
/// up to base × 2^(attempt-1), capped), so that many instances throttled at once do not come
/// back in step.
public struct S3RetryPolicy: Sendable {
    /// Attempts per request, the first included; at least 1.
    public var attempts: Int
    /// The backoff before the second attempt, doubled for each one after.
    public var baseDelay: Duration
    /// No single wait is longer than this.
    public var maxDelay: Duration

    public init(attempts: Int = 8, baseDelay: Duration = .milliseconds(100), maxDelay: Duration = .seconds(5)) {
        precondition(attempts >= 1, "an S3 request is attempted at least once")
        self.attempts = attempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
    }

    /// The wait after failed attempt number `attempt` (1-based).
    func delay(after attempt: Int) -> Duration {
        Backoff(baseDelay: baseDelay, maxDelay: maxDelay).delay(beforeRetry: attempt)
    }

    /// Whether an error code is S3 refusing a request to slow its sender down: the request
    /// was not carried out.
    static func isThrottling(code: String) -> Bool {
        ["SlowDown", "ServiceUnavailable", "Throttling"].contains(code)
    }

    /// Whether a response is a transient failure: throttling, server-side errors, and the
    /// client-side codes S3 uses for a request that was cut or garbled on the way (the body is
    /// resent whole, so a garbled copy is worth another try). Not `RequestTimeTooSkewed`: every
    /// attempt is signed with this host's clock, so only the operator setting it right helps,
    /// and the refusal names the code at once rather than after every attempt.
    static func isRetryable(status: Int, code: String) -> Bool {
        switch status {
        case 408, 429, 500, 502, 503, 504: return true
        default:
            return ["SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "Throttling",
                    "BadDigest", "XAmzContentSHA256Mismatch", "IncompleteBody"].contains(code)
        }
    }
}
