/// How an `Uploader` works.
public struct UploadOptions: Sendable {
    /// Bytes per partition; nil picks 8 MiB, grown when the file would need more partitions
    /// than the server takes (and on resume, the size the unfinished upload used).
    public var partitionSize: Int64?
    /// Partitions sent at once, each on its own call over the one connection.
    public var parallelism: Int
    /// Bytes per UploadPartition data message, read from disk one message at a time.
    public var chunkSize: Int
    public var retry: RetryPolicy
    /// Media type stored with the object.
    public var contentType: String
    /// Where unfinished uploads are remembered; nil disables resuming.
    public var journal: UploadJournal?
    /// Deadline of each unary call (create, get, commit, abort).
    public var callTimeout: Duration
    /// The handle of the principal whose object the upload makes a version of (a folder
    /// it shares with the caller for writing); empty for the caller's own.
    public var owner = ""
    /// Asks the server for no whole-object SHA-256 of a file of several partitions
    /// (CreateSessionRequest.skip_whole_sha256): the partition hashes and the composite check
    /// the object, the server spares reading back the partitions that arrived out of order,
    /// and the upload ends at the commit instead of waiting for that read. The summary then
    /// carries the composite alone.
    public var skipsWholeSHA256 = false

    public init(
        partitionSize: Int64? = nil, parallelism: Int = 4, chunkSize: Int = 1 << 20, retry: RetryPolicy = RetryPolicy(),
        contentType: String = "", journal: UploadJournal? = nil, callTimeout: Duration = .seconds(60)
    ) {
        self.partitionSize = partitionSize
        self.parallelism = max(1, parallelism)
        self.chunkSize = max(1, min(chunkSize, 4 << 20 - 64))
        self.retry = retry
        self.contentType = contentType
        self.journal = journal
        self.callTimeout = callTimeout
    }
}
