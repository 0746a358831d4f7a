import SluiceDuration
import SluiceMetrics
import SluiceRPC
import SluiceStore

/// The trailer of the gRPC retry pushback convention: milliseconds the client should wait
/// before it tries again; a negative value asks it not to retry.
let retryPushbackTrailer = Metadata.retryPushbackKey

/// Every refusal by a quota, a rate limit or a disabled principal is decided here: the one
/// call site where such refusals can be counted.
enum LimitRefusals {
    enum Refusal {
        /// A quota would be exceeded.
        case quota(QuotaExceeded)
        /// The request rate limit: a token will be there in `wait`.
        case requestRate(limit: Int64, wait: Duration)
        /// The principal is disabled.
        case disabled(handle: String)
        /// The principal has `limit` calls in progress already.
        case calls(limit: Int)
    }

    /// How long a principal at its call limit is asked to wait before trying again.
    static let callsPushback = Duration.seconds(1)

    static func refuse(_ refusal: Refusal) -> RPCError {
        switch refusal {
        case .quota(let exceeded):
            SluiceMetrics.quotaRefused(exceeded.quota.metricReason)
            // Retrying cannot help until something is deleted or the quota raised.
            return RPCError(
                .resourceExhausted, exceeded.description,
                trailers: [exhaustedResourceTrailer: .string("quota"), retryPushbackTrailer: .string("-1")])
        case .requestRate(let limit, let wait):
            SluiceMetrics.rateLimited(.requests)
            let milliseconds = max(1, wait.inMillisecondsRoundedUp)
            return RPCError(
                .resourceExhausted,
                "request rate limit exceeded: \(limit) calls per second; try again in \(milliseconds) ms "
                    + "(trailer \(retryPushbackTrailer))",
                trailers: [exhaustedResourceTrailer: .string("rate"), retryPushbackTrailer: .string(String(milliseconds))])
        case .calls(let limit):
            return RPCError(
                .resourceExhausted,
                "this principal has \(limit) calls in progress, the most one principal may have at once "
                    + "(watchers and transfers count); let some finish, then try again",
                trailers: [
                    exhaustedResourceTrailer: .string("calls"),
                    retryPushbackTrailer: .string(String(Int(callsPushback / .milliseconds(1)))),
                ])
        case .disabled(let handle):
            return RPCError(
                .permissionDenied,
                "principal '\(handle)' is disabled by an administrator; nothing it stores was deleted. "
                    + "Ask an administrator to enable it")
        }
    }
}

extension QuotaExceeded.Quota {
    /// The quota's label value in `sluice_quota_refusals_total`.
    var metricReason: SluiceMetrics.QuotaReason {
        switch self {
        case .bytes: .bytes
        case .objects: .objects
        case .sessions: .sessions
        }
    }
}
