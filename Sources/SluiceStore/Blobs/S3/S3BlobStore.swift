import Foundation
import NIOPosix
import SluiceS3

/// A ``BlobStore`` in an S3-compatible bucket (layout in ``S3BlobLayout``), so that any number of
/// sluiced instances sharing one PostgreSQL and one bucket are interchangeable.
///
/// Partitions are staged in a local spool directory while they arrive (hashed and verified as on
/// disk, never held in memory) and then uploaded with their SHA-256, which S3 checks; a writer
/// finishes only once S3 has confirmed the upload. The spool is scratch space: losing it loses
/// only uploads not yet acknowledged.
public struct S3BlobStore: BlobStore {
    let client: S3Client
    let layout: S3BlobLayout
    let spool: StagingDirectory
    let io: BlockingIO

    /// Opens the store on `bucket` after checking that the bucket exists and the credentials may
    /// use it; creates `spoolDirectory` (and its parents) when missing.
    public init(bucket: S3BucketURL, client: S3Client, spoolDirectory: URL, threadPool: NIOThreadPool = .singleton) async throws {
        precondition(spoolDirectory.isFileURL, "the S3 store's spool is a local directory, not \(spoolDirectory)")
        self.client = client
        self.layout = S3BlobLayout(prefix: bucket.prefix)
        self.spool = StagingDirectory(path: spoolDirectory.standardizedFileURL.path)
        self.io = BlockingIO(pool: threadPool)
        let spoolPath = spool.path
        try await io.run {
            try FileManager.default.createDirectory(atPath: spoolPath, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try await client.checkBucket()
    }

    public func makeWriter(for key: BlobKey, size: Int64) async throws -> any BlobWriter {
        guard size >= 0 else { throw BlobError.invalidSize(size) }
        // The spool file is read right back to send it: the page cache serves that read.
        return StagingBlobWriter(
            key: key, size: size, staging: spool, mayBypassCache: false,
            publisher: S3BlobPublisher(client: client, layout: layout), io: io)
    }

    public func contains(_ key: BlobKey) async throws -> Bool {
        try await S3BlobErrors.mapping(key) { try await client.objectSize(layout.objectKey(of: key)) != nil }
    }

    /// Streams the range with one GET that resumes after dropped connections.
    public func read(_ key: BlobKey, range: Range<Int64>, chunkSize: Int) -> BlobChunks {
        precondition(chunkSize > 0, "a blob is read in chunks of at least one byte")
        let (client, objectKey) = (client, layout.objectKey(of: key))
        return BlobChunks {
            S3ChunkReader(key: key, range: range, stream: client.object(objectKey, range: range, chunkSize: chunkSize))
        }
    }

    /// The deadline is checked on the transfer's thread, once it holds a transfer slot, before
    /// the request is sent; the request and its retries then take at most the store's
    /// lingering-delete fence (``StorageLimits/lingeringDeleteFence``).
    public func delete(_ key: BlobKey, before deadline: ContinuousClock.Instant) async throws -> BlobDeletion {
        let result = try await S3BlobErrors.mapping(key) {
            try await client.deleteObject(layout.objectKey(of: key), before: deadline)
        }
        switch result {
        case .notSent: return .notMade
        case .deleted: return .made
        case .deletedAfterAnAttemptInDoubt: return .madeWithARequestInDoubt
        }
    }

    /// Pages in key order (scope, then digest); the age is the object's Last-Modified, that of
    /// the upload that last stored it. Reads listing pages until `limit` old enough keys are
    /// found or the listing ends.
    public func keys(olderThan cutoff: Date, after: BlobKey?, limit: Int) async throws -> [BlobKey] {
        precondition(limit > 0, "a page holds at least one key")
        var found: [BlobKey] = []
        var token: String?
        repeat {
            let page = try await S3BlobErrors.mapping(nil) {
                try await client.listObjects(
                    prefix: layout.blobsPrefix, startAfter: token == nil ? after.map(layout.objectKey) : nil,
                    continuationToken: token)
            }
            for entry in page.entries where entry.lastModified < cutoff {
                guard let key = layout.blobKey(ofObject: entry.key) else { continue }
                found.append(key)
                if found.count == limit { return found }
            }
            if let next = page.nextContinuationToken, next == token {
                // A store that hands the same page back for ever would keep the collector's pass
                // listing, without a pause, until it restarts.
                try await S3BlobErrors.mapping(nil) {
                    throw S3Error.malformedResponse(
                        operation: "LIST \(layout.blobsPrefix)", detail: "the listing repeats its continuation token")
                }
            }
            token = page.nextContinuationToken
        } while token != nil
        return found
    }

    /// Removes spool files of uploads that crashed or were lost before finishing.
    public func removeAbandonedStaging(olderThan cutoff: Date) async throws -> Int {
        let spool = spool
        return try await io.run { try spool.removeFiles(olderThan: cutoff) }
    }
}
