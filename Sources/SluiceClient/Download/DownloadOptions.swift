/// How a `Downloader` works.
public struct DownloadOptions: Sendable {
    /// Partitions fetched at once, each on its own ReadPartition call over the one
    /// connection. When streaming, also the number of whole partitions held in memory.
    public var parallelism: Int
    public var retry: RetryPolicy
    /// Deadline of each unary call (GetObject).
    public var callTimeout: Duration

    /// The handle of the principal whose object is downloaded (one it shares with the
    /// caller); empty for the caller's own.
    public var owner = ""

    public init(parallelism: Int = 4, retry: RetryPolicy = RetryPolicy(), callTimeout: Duration = .seconds(60)) {
        self.parallelism = max(1, parallelism)
        self.retry = retry
        self.callTimeout = callTimeout
    }
}
