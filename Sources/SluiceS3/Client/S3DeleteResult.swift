/// What ``S3Client/deleteObject(_:before:)`` did.
public enum S3DeleteResult: Sendable, Equatable {
    /// The deadline passed before the DELETE could be sent; the object stays.
    case notSent
    /// S3 answered that the object is gone.
    case deleted
    /// S3 answered that the object is gone, but an earlier attempt's fate is unknown (it went
    /// unanswered, or got a server-side error). A gateway may still deliver that attempt later,
    /// and it would remove whatever is stored under the key by then.
    case deletedAfterAnAttemptInDoubt
}
