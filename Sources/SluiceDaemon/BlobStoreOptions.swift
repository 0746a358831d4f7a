import ArgumentParser
import Foundation
import NIOPosix
import SluiceS3
import SluiceStore

/// Where bytes live (`--blobs`) and how the S3 store talks to its bucket. Each flag has an
/// environment variable `SLUICED_<NAME>` as its default.
public struct BlobStoreOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Where bytes live: file:///PATH, or s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION&addressing=path|virtual&ca=PEM]. (env: SLUICED_BLOBS)",
        discussion: "S3 credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or from the shared credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, profile AWS_PROFILE or default)."))
    public var blobs = EnvironmentDefaults.string(
        "SLUICED_BLOBS", default: "file://" + FileManager.default.currentDirectoryPath + "/.data/blobs")

    @Option(parsing: .unconditional, help: "Attempts per S3 request, the first included. (env: SLUICED_S3_ATTEMPTS)")
    public var s3Attempts = EnvironmentDefaults.int("SLUICED_S3_ATTEMPTS", default: 8)

    @Option(parsing: .unconditional, help: "Backoff before the first S3 retry, milliseconds; doubles per retry, with jitter, up to 5 s. (env: SLUICED_S3_BACKOFF_MS)")
    public var s3BackoffMs = EnvironmentDefaults.int("SLUICED_S3_BACKOFF_MS", default: 100)

    @Option(parsing: .unconditional, help: "Seconds an S3 transfer may go without a byte moving before it is retried. (env: SLUICED_S3_TIMEOUT_SECONDS)")
    public var s3TimeoutSeconds = EnvironmentDefaults.int("SLUICED_S3_TIMEOUT_SECONDS", default: 30)

    @Option(parsing: .unconditional, help: "Seconds to connect to the S3 endpoint. (env: SLUICED_S3_CONNECT_TIMEOUT_SECONDS)")
    public var s3ConnectTimeoutSeconds = EnvironmentDefaults.int("SLUICED_S3_CONNECT_TIMEOUT_SECONDS", default: 10)

    @Option(parsing: .unconditional, help: "S3 transfers (threads and connections) at once; more wait their turn. (env: SLUICED_S3_MAX_TRANSFERS)")
    public var s3MaxTransfers = EnvironmentDefaults.int("SLUICED_S3_MAX_TRANSFERS", default: 64)

    @Option(help: "Local scratch folder for partitions on their way to S3. (env: SLUICED_S3_SPOOL)")
    public var s3Spool = EnvironmentDefaults.string(
        "SLUICED_S3_SPOOL", default: FileManager.default.temporaryDirectory.appendingPathComponent("sluiced-spool").path)

    public init() {}

    /// How long a DELETE the store gave up on may still reach its bytes (see
    /// ``StorageLimits/lingeringDeleteFence``): none on disk, where a delete ends with its call;
    /// for S3, every attempt of a request timing out after its longest backoff, and at least 15
    /// minutes, since a gateway in front of the bucket may hold a request longer than that.
    public var lingeringDeleteFence: Duration {
        guard case .s3? = try? location() else { return .zero }
        let attempts = Duration.seconds(s3Attempts * (s3TimeoutSeconds + 5))
        return max(attempts, .seconds(15 * 60))
    }

    /// Where bytes live, parsed from `--blobs`.
    public enum Location {
        case disk(URL)
        case s3(S3BucketURL)
    }

    public func validate() throws {
        _ = try location()
        try FlagRange.check([
            FlagRange("--s3-attempts", s3Attempts, 1...100),
            FlagRange("--s3-backoff-ms", s3BackoffMs, 0...3_600_000, unit: "milliseconds"),
            .seconds("--s3-timeout-seconds", s3TimeoutSeconds),
            .seconds("--s3-connect-timeout-seconds", s3ConnectTimeoutSeconds),
            FlagRange("--s3-max-transfers", s3MaxTransfers, 1...10_000),
        ])
        guard s3Spool.hasPrefix("/") else { throw ValidationError("--s3-spool needs an absolute path") }
    }

    public func location() throws -> Location {
        if blobs.hasPrefix("file://") {
            let path = String(blobs.dropFirst("file://".count))
            guard path.hasPrefix("/") else { throw ValidationError("--blobs needs an absolute path: file:///PATH") }
            return .disk(URL(fileURLWithPath: path, isDirectory: true))
        }
        if blobs.hasPrefix("s3://") {
            do {
                return .s3(try S3BucketURL(parsing: blobs))
            } catch {
                throw ValidationError("--blobs: \(error)")
            }
        }
        throw ValidationError("--blobs must be file:///PATH or s3://BUCKET[/PREFIX][?...] (got '\(blobs)')")
    }

    /// Opens the store: the disk folder, or the bucket after checking it can be used.
    public func open() async throws -> any BlobStore {
        switch try location() {
        case .disk(let root):
            return try await DiskBlobStore(root: root)
        case .s3(let bucket):
            let http = HTTPClient(settings: HTTPClient.Settings(
                connectTimeout: .seconds(s3ConnectTimeoutSeconds), stallTimeout: .seconds(s3TimeoutSeconds),
                caFile: bucket.caFile, maxConcurrentTransfers: s3MaxTransfers, maxIdleHandles: s3MaxTransfers))
            let client = S3Client(
                endpoint: bucket.endpoint, credentials: try AWSCredentialSource(),
                retryPolicy: S3RetryPolicy(attempts: s3Attempts, baseDelay: .milliseconds(s3BackoffMs)), http: http)
            return try await S3BlobStore(bucket: bucket, client: client, spoolDirectory: URL(fileURLWithPath: s3Spool, isDirectory: true))
        }
    }
}
