/// Which way bytes go.
public enum TransferDirection: String, Sendable {
    case upload
    case download
}

/// Why local bytes are being hashed.
public enum HashingPhase: String, Sendable {
    /// An upload's first pass: the hashes of every partition and of the whole file.
    case planning
    /// A resumed download re-checks the partitions it kept.
    case resuming
    /// A download checks the whole object's SHA-256 before renaming it into place.
    case verifying
}

/// What a transfer has decided before sending or receiving partitions.
public struct TransferStart: Sendable, Equatable {
    public var direction: TransferDirection
    public var objectName: String
    /// The local file; "-" for standard output.
    public var localPath: String
    public var totalBytes: Int64
    public var partitionSize: Int64
    public var partitionCount: Int
    /// Partitions found done by an earlier run.
    public var donePartitions: Int
    /// Bytes of those partitions.
    public var doneBytes: Int64
    /// The upload session; nil for downloads.
    public var sessionID: String?
    /// True when an earlier run's work is being continued.
    public var resumed: Bool
}

/// How a finished transfer went.
public struct TransferSummary: Sendable, Equatable {
    public var direction: TransferDirection
    public var objectName: String
    public var localPath: String
    /// The object version written (upload) or read (download).
    public var version: Int64
    public var size: Int64
    /// Hex SHA-256 of the whole object, verified; empty for a version whose uploader asked
    /// the server for none (``UploadOptions/skipsWholeSHA256``).
    public var sha256: String
    /// Hex composite SHA-256 (of the partition hashes), which every partition was checked
    /// under; empty from a server that publishes none.
    public var compositeSHA256: String
    public var partitionCount: Int
    /// Partitions moved by this run (an earlier run may have moved the rest).
    public var partitionsTransferred: Int
    /// Payload bytes moved by this run.
    public var bytesTransferred: Int64
    public var resumed: Bool
    public var elapsed: Duration
    /// The upload session; nil for downloads.
    public var sessionID: String?
}

/// What an upload or a download reports as it goes, in order: hashing, started, then
/// transferred/restarted/completed per partition with retries between, then completed.
public enum TransferEvent: Sendable, Equatable {
    /// Local bytes hashed so far.
    case hashing(HashingPhase, bytes: Int64, of: Int64)
    case started(TransferStart)
    /// More bytes of a partition went out (upload) or came in (download).
    case transferred(partition: Int, bytes: Int64)
    /// An attempt at a partition failed; the bytes it had moved no longer count.
    case partitionRestarted(partition: Int, discardedBytes: Int64, reason: String)
    /// A partition is stored by the server (upload) or verified on disk (download).
    case partitionCompleted(partition: Int, size: Int64, alreadyStored: Bool)
    /// A transient failure; the operation is tried again after a pause.
    case retrying(RetryNotice)
    /// Every partition is stored; the session is being committed.
    case committing
    case completed(TransferSummary)
}
