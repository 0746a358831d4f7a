#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SluiceOpenSSL
import Synchronization

/// Writes one blob to a staging file of the disk store and publishes it: hash and `pwrite` as
/// bytes arrive; on finish, check size and digest, `fdatasync`, rename into place, and sync the
/// directory, so the blob is durable when ``finish()`` returns.
///
/// If the blob already exists the rename replaces it. The content is identical (both hash to the
/// key), the replacement is atomic for readers, concurrent writers of one key therefore both
/// succeed, and the blob's modification time becomes that of this upload's last write — which
/// keeps ``BlobStore/keys(olderThan:after:limit:)`` from offering, as stale, a blob that an
/// upload has just acknowledged again.
///
/// All state sits behind a mutex that every operation takes on a pool thread for the whole of
/// its system calls. One task uses a writer, so the mutex is never contended; it is what makes
/// handing the writer to pool threads sound.
final class DiskBlobWriter: BlobWriter {
    private enum Phase { case open, finished, discarded }

    private struct State: ~Copyable {
        var phase = Phase.open
        var hasher = SHA256()
        var written: Int64 = 0
        let descriptor: Int32
    }

    private let key: BlobKey
    private let size: Int64
    private let stagingPath: String
    private let location: DiskBlobLayout.Location
    private let blobsDirectory: String
    private let directories: DurableDirectories
    private let io: BlockingIO
    private let state: Mutex<State>

    /// Opens a new staging file (exclusively, mode 0600, the caller being on the pool).
    init(key: BlobKey, size: Int64, layout: DiskBlobLayout, directories: DurableDirectories, io: BlockingIO) throws {
        let stagingPath = layout.newStagingPath()
        let descriptor = try POSIX.openFile(stagingPath, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        self.key = key
        self.size = size
        self.stagingPath = stagingPath
        self.location = layout.location(of: key)
        self.blobsDirectory = layout.blobs
        self.directories = directories
        self.io = io
        self.state = Mutex(State(descriptor: descriptor))
    }

    /// A writer dropped without finish or abort still releases its descriptor and staging file.
    deinit {
        let leftover: Int32? = state.withLock { $0.phase == .open ? $0.descriptor : nil }
        guard let descriptor = leftover else { return }
        let path = stagingPath
        io.detach {
            POSIX.closeFile(descriptor)
            _ = try? POSIX.removeFile(path)
        }
    }

    func write(_ bytes: some ContiguousBytes & Sendable) async throws {
        try await io.run { [self] in
            try state.withLock { state in
                try bytes.withUnsafeBytes { buffer in try append(buffer, to: &state) }
            }
        }
    }

    func finish() async throws {
        try await io.run { [self] in try state.withLock { state in try publish(&state) } }
    }

    func abort() async {
        await io.runRegardlessOfCancellation { [self] in
            state.withLock { state in
                if state.phase == .open { discard(&state) }
            }
        }
    }

    private func append(_ bytes: UnsafeRawBufferPointer, to state: inout State) throws {
        guard state.phase == .open else { throw BlobError.writerClosed(key) }
        let total = state.written + Int64(bytes.count)
        guard total <= size else {
            discard(&state)
            throw BlobError.sizeMismatch(expected: size, received: total)
        }
        do {
            try POSIX.writeAll(state.descriptor, bytes, at: state.written, path: stagingPath)
        } catch {
            discard(&state)
            throw error
        }
        state.hasher.update(bytes)
        state.written = total
    }

    private func publish(_ state: inout State) throws {
        guard state.phase == .open else { throw BlobError.writerClosed(key) }
        guard state.written == size else {
            discard(&state)
            throw BlobError.sizeMismatch(expected: size, received: state.written)
        }
        // Finalizing consumes the hasher; a fresh one takes its place in the (now ending) state.
        var hasher = SHA256()
        swap(&hasher, &state.hasher)
        let digest = hasher.finalize()
        guard digest == key.sha256 else {
            discard(&state)
            throw BlobError.checksumMismatch(expected: key.sha256, actual: digest)
        }
        do {
            try POSIX.syncData(state.descriptor, path: stagingPath)
            try directories.ensure(location.directories, under: blobsDirectory)
            try POSIX.renameFile(stagingPath, to: location.file)
        } catch {
            discard(&state)
            throw error
        }
        POSIX.closeFile(state.descriptor)
        state.phase = .finished
        // Past the rename the blob is in place and correct; only its directory entry may not be
        // durable yet. Failing here fails the finish (nothing may be acknowledged), and a retry
        // with a new writer renames over it and syncs again.
        try POSIX.syncDirectory(location.directories[location.directories.count - 1])
    }

    /// Closes and removes the staging file. A removal that fails leaves the file to
    /// ``DiskBlobStore/removeAbandonedStaging(olderThan:)``; the writer is closed either way.
    private func discard(_ state: inout State) {
        POSIX.closeFile(state.descriptor)
        _ = try? POSIX.removeFile(stagingPath)
        state.phase = .discarded
    }
}
