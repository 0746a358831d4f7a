import Foundation
import NIOPosix

/// A ``BlobStore`` on a local file system (layout in ``DiskBlobLayout``).
///
/// Durability: a blob is written to a staging file, `fdatasync`ed, renamed into place, and its
/// directory fsynced — and any fan-out directory made for it has its own entry synced — before
/// the writer's `finish()` returns. Every blocking call runs on `threadPool`.
///
/// The store never removes directories (empty fan-out directories are cheap and reused), and
/// nothing else may remove them while it runs: it remembers which ones it has made durable.
public struct DiskBlobStore: BlobStore {
    let layout: DiskBlobLayout
    private let directories = DurableDirectories()
    let io: BlockingIO

    /// Opens the store at `root`, creating `root` (and its missing parents: the default root,
    /// `.data/blobs` under the working directory, must work in a fresh one), `blobs/`,
    /// `staging/` and the layout file as needed, durably.
    ///
    /// - Throws: ``BlobError/unknownLayout(path:content:)`` for a store of a layout this build
    ///   does not know; ``BlobError/io(operation:path:errno:)`` when the folders cannot be made.
    public init(root: URL, threadPool: NIOThreadPool = .singleton) async throws {
        precondition(root.isFileURL, "a disk blob store's root is a file URL, not \(root)")
        let rootPath = root.standardizedFileURL.path
        let io = BlockingIO(pool: threadPool)
        self.io = io
        self.layout = try await io.run {
            _ = try POSIX.makeDirectoryAndParents(rootPath)
            let fanOut = try DiskFanOut.settle(root: rootPath, blobs: DiskBlobLayout.blobs(under: rootPath))
            let layout = DiskBlobLayout(root: rootPath, fanOut: fanOut)
            let madeBlobs = try POSIX.makeDirectory(layout.blobs)
            let madeStaging = try POSIX.makeDirectory(layout.staging.path)
            if madeBlobs || madeStaging { try POSIX.syncDirectory(layout.root) }
            return layout
        }
    }

    public func makeWriter(for key: BlobKey, size: Int64) async throws -> any BlobWriter {
        guard size >= 0 else { throw BlobError.invalidSize(size) }
        let publisher = DiskBlobPublisher(layout: layout, directories: directories, io: io)
        return StagingBlobWriter(
            key: key, size: size, staging: layout.staging, mayBypassCache: true, publisher: publisher, io: io)
    }

    public func contains(_ key: BlobKey) async throws -> Bool {
        let path = layout.location(of: key).file
        return try await io.run { try POSIX.status(path)?.isRegularFile ?? false }
    }

    /// Reads with `pread`, one chunk per `next()`, from a descriptor held for the whole pass.
    public func read(_ key: BlobKey, range: Range<Int64>, chunkSize: Int) -> BlobChunks {
        precondition(chunkSize > 0, "a blob is read in chunks of at least one byte")
        let (path, io) = (layout.location(of: key).file, io)
        return BlobChunks { DiskChunkReader(key: key, path: path, range: range, chunkSize: chunkSize, io: io) }
    }

    /// Unlinks the blob without syncing its directory: a delete lost in a crash only brings back
    /// an unreferenced blob, which the collector finds again. The deadline is checked on the
    /// I/O thread, right before the unlink, after whatever wait for that thread.
    public func delete(_ key: BlobKey, before deadline: ContinuousClock.Instant) async throws -> BlobDeletion {
        let path = layout.location(of: key).file
        return try await io.run {
            guard ContinuousClock.now < deadline else { return .notMade }
            _ = try POSIX.removeFile(path)
            return .made
        }
    }

    /// Pages in order of scope, then digest; the age is the file's modification time, which is
    /// that of the last write of the upload that last stored it.
    public func keys(olderThan cutoff: Date, after: BlobKey?, limit: Int) async throws -> [BlobKey] {
        precondition(limit > 0, "a page holds at least one key")
        let listing = DiskBlobListing(layout: layout, cutoff: cutoff, after: after, limit: limit)
        return try await io.run { try listing.page() }
    }

    public func removeAbandonedStaging(olderThan cutoff: Date) async throws -> Int {
        let staging = layout.staging
        return try await io.run { try staging.removeFiles(olderThan: cutoff) }
    }
}
