/// Why a storage operation was refused. Each case maps to one gRPC status in the service
/// layer; every message says what was wrong and what to do about it.
public enum StorageError: Error, Equatable, CustomStringConvertible {
    /// The request itself is wrong (INVALID_ARGUMENT).
    case invalidArgument(String)
    /// The thing does not exist, or belongs to someone else (NOT_FOUND).
    case notFound(String)
    /// The caller may see the thing but not do this to it: a READ grantee writing, say
    /// (PERMISSION_DENIED).
    case permissionDenied(String)
    /// The request is valid but the state does not allow it (FAILED_PRECONDITION).
    case failedPrecondition(String)
    /// Bytes did not match their declared size or SHA-256 (DATA_LOSS).
    case dataLoss(String)
    /// A limit was reached (RESOURCE_EXHAUSTED).
    case resourceExhausted(String)
    /// A principal's quota would be exceeded (RESOURCE_EXHAUSTED, marked as a quota so that
    /// clients do not retry); it names the quota, its limit and the usage.
    case quotaExceeded(QuotaExceeded)
    /// A conflicting change won a race; sending the request again will work (ABORTED).
    case aborted(String)
    /// A position is past what is kept (OUT_OF_RANGE): a change cursor older than the retention.
    case outOfRange(String)
    /// A stored byte could not be read back as committed (INTERNAL).
    case corrupted(String)
    /// Blob storage is failing for now; the same request later may succeed (UNAVAILABLE).
    case unavailable(String)
    /// Blob storage refused for a reason only an operator can fix (INTERNAL).
    case storageFailed(String)

    public var description: String {
        switch self {
        case .invalidArgument(let message), .notFound(let message), .permissionDenied(let message), .failedPrecondition(let message),
             .dataLoss(let message), .resourceExhausted(let message), .aborted(let message), .outOfRange(let message),
             .corrupted(let message), .unavailable(let message), .storageFailed(let message):
            message
        case .quotaExceeded(let exceeded):
            exceeded.description
        }
    }
}
