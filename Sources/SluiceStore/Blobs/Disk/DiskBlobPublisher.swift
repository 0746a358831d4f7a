#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Publishes a disk blob: `fdatasync` the staging file, rename it into place, and sync the
/// directory, so the blob is durable when ``publish(_:)`` returns.
///
/// If the blob already exists the rename replaces it. The content is identical (both hash to the
/// key), the replacement is atomic for readers, concurrent writers of one key therefore both
/// succeed, and the blob's modification time becomes that of this upload's last write — which
/// keeps ``BlobStore/keys(olderThan:after:limit:)`` from offering, as stale, a blob that an
/// upload has just acknowledged again.
struct DiskBlobPublisher: BlockingStagedBlobPublisher {
    let layout: DiskBlobLayout
    let directories: DurableDirectories
    let io: BlockingIO

    var movesStagingFile: Bool { true }

    func publish(_ staged: StagedBlob) async throws {
        try await io.run { [self] in try publishBlocking(staged) }
    }

    func publishBlocking(_ staged: StagedBlob) throws {
        let location = layout.location(of: staged.key)
        try POSIX.syncData(staged.descriptor, path: staged.path)
        do {
            try directories.ensure(location.directories, under: layout.blobs)
            try POSIX.renameFile(staged.path, to: location.file)
        } catch BlobError.io(_, _, ENOENT) {
            // A directory the store remembered making was removed under it (`blobs/` itself, by
            // an operator or a cleaner): every upload into it would fail until a restart. The
            // chain is made again from the root, durably, and the rename tried once more.
            let chain = [layout.blobs] + location.directories
            directories.forget(chain)
            try directories.ensure(chain, under: layout.root)
            try POSIX.renameFile(staged.path, to: location.file)
        }
        // Past the rename the blob is in place and correct; only its directory entry may not
        // be durable yet. Failing here fails the finish (nothing may be acknowledged), and a
        // retry with a new writer renames over it and syncs again.
        try POSIX.syncDirectory(location.directories[location.directories.count - 1])
    }
}
