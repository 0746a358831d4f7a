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

/// A verified staging file, ready for its store to publish as the blob `key`.
struct StagedBlob: Sendable {
    let key: BlobKey
    let size: Int64
    let path: String
    /// Open for writing on `path`, for a store that syncs it; the writer closes it afterwards.
    let descriptor: Int32
}

/// The one step in which blob stores differ: making a verified staging file the blob, durably.
protocol StagedBlobPublisher: Sendable {
    /// Whether publishing moves the staging file away (a rename), or leaves it for the writer
    /// to remove (an upload of its bytes elsewhere).
    var movesStagingFile: Bool { get }

    /// Publishes `staged`; the blob must be durable when this returns. On a throw the writer
    /// discards the staging file.
    func publish(_ staged: StagedBlob) async throws
}

/// A publisher whose work is blocking file-system calls it can make on the pool thread the
/// writer is already on: checking, publishing and closing a blob then take one trip to the pool
/// instead of three (a small blob's whole finish).
protocol BlockingStagedBlobPublisher: StagedBlobPublisher {
    /// Publishes `staged` as ``StagedBlobPublisher/publish(_:)`` does, on the store's thread pool.
    func publishBlocking(_ staged: StagedBlob) throws
}

/// The ``BlobWriter`` of every store: hashes and `pwrite`s bytes to a local staging file as they
/// arrive, checks size and digest on finish, then has the store's publisher publish the file.
///
/// Staging locally first is what makes publishing all-or-nothing on disk (a rename) and
/// retryable on S3 (the file is resent whole on a failure) while no blob is ever held in memory.
///
/// State sits behind a mutex taken on a pool thread for the whole of its system calls. One task
/// uses a writer, so the mutex is never contended; it is what makes handing the writer to pool
/// threads sound.
///
/// Trips to the pool are what a small blob costs beyond its system calls (a thread woken and a
/// task resumed each), so the writer makes as few as it can: the staging file is created by the
/// first trip that writes, and a blob that arrives as one chunk (a small partition, a PutObject)
/// is kept until `finish`, which creates, writes, checks and publishes it in a single trip.
final class StagingBlobWriter: BlobWriter {
    private enum Phase { case open, publishing, finished, discarded }

    private struct State: ~Copyable {
        var phase = Phase.open
        var hasher = SHA256()
        /// Created by the first bytes written (or by `finish`, for a blob of none).
        var file: StagingFile?
        /// A whole blob received as one chunk, not written yet.
        var held: (any ContiguousBytes & Sendable)?
    }

    private let key: BlobKey
    private let size: Int64
    private let staging: StagingDirectory
    private let stagingPath: String
    private let mayBypassCache: Bool
    private let publisher: any StagedBlobPublisher
    private let io: BlockingIO
    private let state = Mutex(State())

    /// A writer whose staging file goes in `staging` (created exclusively, mode 0600, on the pool
    /// when bytes are first written); `mayBypassCache` as for ``StagingFile``.
    init(
        key: BlobKey, size: Int64, staging: StagingDirectory, mayBypassCache: Bool, publisher: any StagedBlobPublisher,
        io: BlockingIO
    ) {
        self.key = key
        self.size = size
        self.staging = staging
        self.stagingPath = staging.claimNewFile()
        self.mayBypassCache = mayBypassCache
        self.publisher = publisher
        self.io = io
    }

    /// A writer dropped without finish or abort still releases its descriptor and staging file.
    deinit {
        let leftover: Int32? = state.withLock { $0.phase == .open ? $0.file?.descriptor : nil }
        let (path, staging) = (stagingPath, staging)
        guard let descriptor = leftover else {
            staging.release(path)
            return
        }
        io.detach {
            POSIX.closeFile(descriptor)
            _ = try? POSIX.removeFile(path)
            staging.release(path)
        }
    }

    func write(_ bytes: some ContiguousBytes & Sendable) async throws {
        let keptWhole = state.withLock { state in
            let count = bytes.withUnsafeBytes(\.count)
            guard state.phase == .open, state.file?.descriptor == nil, state.held == nil, Int64(count) == size, count > 0 else {
                return false
            }
            state.held = bytes
            return true
        }
        if keptWhole { return }
        try await io.run { [self] in
            try state.withLock { state in
                try writeHeld(&state)
                try bytes.withUnsafeBytes { buffer in try append(buffer, to: &state) }
            }
        }
    }

    func finish() async throws {
        if let blocking = publisher as? any BlockingStagedBlobPublisher {
            try await io.run { [self] in
                try state.withLock { state in
                    try writeHeld(&state)
                    let staged = try verify(&state)
                    do {
                        try blocking.publishBlocking(staged)
                    } catch {
                        discard(&state)
                        throw error
                    }
                    close(&state)
                }
            }
            return
        }
        let staged = try await io.run { [self] in
            try state.withLock { state in
                try writeHeld(&state)
                return try verify(&state)
            }
        }
        do {
            try await publisher.publish(staged)
        } catch {
            await io.runRegardlessOfCancellation { [self] in state.withLock { discard(&$0) } }
            throw error
        }
        await io.runRegardlessOfCancellation { [self] in state.withLock { close(&$0) } }
    }

    func abort() async {
        await io.runRegardlessOfCancellation { [self] in
            state.withLock { state in
                if state.phase == .open { discard(&state) }
            }
        }
    }

    /// Writes the blob kept whole by ``write(_:)``, if there is one.
    private func writeHeld(_ state: inout State) throws {
        guard let held = state.held else { return }
        state.held = nil
        try held.withUnsafeBytes { buffer in try append(buffer, to: &state) }
    }

    private func append(_ bytes: UnsafeRawBufferPointer, to state: inout State) throws {
        guard state.phase == .open else { throw BlobError.writerClosed(key) }
        let total = (state.file?.appended ?? 0) + Int64(bytes.count)
        guard total <= size else {
            discard(&state)
            throw BlobError.sizeMismatch(expected: size, received: total)
        }
        do {
            try openFile(&state)
            try state.file!.append(bytes)
        } catch {
            discard(&state)
            throw error
        }
        state.hasher.update(bytes)
    }

    /// Creates the staging file, unless it exists; returns its descriptor.
    @discardableResult
    private func openFile(_ state: inout State) throws -> Int32 {
        if let descriptor = state.file?.descriptor { return descriptor }
        let file: StagingFile
        do {
            file = try StagingFile(creating: stagingPath, size: size, mayBypassCache: mayBypassCache)
        } catch BlobError.io(_, _, ENOENT) {
            // The directory was removed under the running store (a temporary-file cleaner, an
            // operator): every upload would fail until a restart. It is made again.
            try staging.makeAgain()
            file = try StagingFile(creating: stagingPath, size: size, mayBypassCache: mayBypassCache)
        }
        let descriptor = file.descriptor
        state.file = consume file
        return descriptor
    }

    /// Checks size and digest; the writer then belongs to the publisher until it returns.
    private func verify(_ state: inout State) throws -> StagedBlob {
        guard state.phase == .open else { throw BlobError.writerClosed(key) }
        let appended = state.file?.appended ?? 0
        guard appended == size else {
            discard(&state)
            throw BlobError.sizeMismatch(expected: size, received: appended)
        }
        let descriptor: Int32
        do {
            descriptor = try openFile(&state)  // made here for a blob of no bytes
            try state.file!.finishWriting()
        } catch {
            discard(&state)
            throw error
        }
        // Finalizing consumes the hasher; a fresh one takes its place in the (now ending) state.
        var hasher = SHA256()
        swap(&hasher, &state.hasher)
        let digest = hasher.finalize()
        guard digest == key.sha256 else {
            discard(&state)
            throw BlobError.checksumMismatch(expected: key.sha256, actual: digest)
        }
        state.phase = .publishing
        return StagedBlob(key: key, size: size, path: stagingPath, descriptor: descriptor)
    }

    /// Closes a published blob's staging file, and removes it unless publishing moved it.
    private func close(_ state: inout State) {
        if let descriptor = state.file?.descriptor { POSIX.closeFile(descriptor) }
        if !publisher.movesStagingFile { _ = try? POSIX.removeFile(stagingPath) }
        staging.release(stagingPath)
        state.phase = .finished
    }

    /// Closes and removes the staging file, if it was made. A removal that fails (or finds the
    /// file already moved) leaves it to the store's sweep of abandoned staging; the writer is
    /// closed either way.
    private func discard(_ state: inout State) {
        guard state.phase == .open || state.phase == .publishing else { return }
        state.held = nil
        if let descriptor = state.file?.descriptor {
            POSIX.closeFile(descriptor)
            _ = try? POSIX.removeFile(stagingPath)
        }
        staging.release(stagingPath)
        state.phase = .discarded
    }
}
