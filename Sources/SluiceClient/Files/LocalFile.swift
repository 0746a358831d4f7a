import Foundation
import SluiceDirectIO
import Synchronization

/// An open local file read and written at explicit offsets (pread/pwrite), so many tasks
/// can use it at once without sharing a file position.
final class LocalFile: Sendable {
    let path: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    /// A second descriptor on the file opened with `O_DIRECT`, for ``writePages(_:at:)``; -1
    /// when there is none, or once the file system refused a direct write.
    private let directDescriptor: Atomic<Int32>
    /// Held for each write. The kernel serializes buffered writes to one file anyway (the
    /// inode's lock), and a writer waiting for that lock spins on its CPU while the holder
    /// copies: a fifth of the CLI's CPU in an 8-way parallel download went to that spinning.
    /// A writer waiting here sleeps instead (NSLock is a plain futex, which does not spin;
    /// Synchronization's Mutex is a priority-inheritance one, whose kernel side spins too).
    private let writing = NSLock()

    /// What `fstat` says of a file that matters for resuming.
    struct Status: Sendable, Equatable {
        var size: Int64
        /// Modification time in nanoseconds since the epoch.
        var modificationTime: Int64
        var isRegularFile: Bool
    }

    private init(path: String, descriptor: Int32, ownsDescriptor: Bool, directDescriptor: Int32 = -1) {
        self.path = path
        self.descriptor = descriptor
        self.ownsDescriptor = ownsDescriptor
        self.directDescriptor = Atomic(directDescriptor)
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
        let direct = directDescriptor.load(ordering: .relaxed)
        if direct >= 0 { close(direct) }
    }

    /// Non-blocking, so that a FIFO with no writer opens at once (and is then refused as no
    /// regular file) rather than hanging the command; a regular file reads as ever.
    static func openForReading(_ path: String) throws -> LocalFile {
        try open(path, flags: O_RDONLY | O_NONBLOCK, mode: 0, operation: "open")
    }

    /// Opens for reading and writing, creating the file (mode 0644 before the umask) if needed.
    /// Only for files the CLI makes for itself (partial downloads, their sidecars, temporaries
    /// renamed into place): a symbolic link found at such a path is refused, never written
    /// through, so a link planted there cannot steer bytes into a file elsewhere.
    static func openForUpdate(_ path: String) throws -> LocalFile {
        LocalFile(path: path, descriptor: try openOwnFile(path), ownsDescriptor: true)
    }

    private static func openOwnFile(_ path: String) throws -> Int32 {
        try openDescriptor(path, flags: O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o644, operation: "create", writing: true)
    }

    /// As ``openForUpdate(_:)``, holding an exclusive lock on the file (``FileLock``) for as
    /// long as the value lives; nil when another process holds it. With `directWrites`,
    /// ``writePages(_:at:)`` writes past the page cache where the file system allows it (see
    /// ``DirectIO``).
    static func openForUpdateExclusively(_ path: String, directWrites: Bool = false) throws -> LocalFile? {
        let locked = try FileLock.openLocked(path) { try openOwnFile(path) }
        guard let descriptor = locked else { return nil }
        var direct: Int32 = -1
        if directWrites, let flag = DirectIO.openFlag {
            // Opened once the lock is held, so on the very file locked. Refused (a file system
            // without direct I/O): every write goes through the cache.
            direct = systemOpen(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | flag, 0)
        }
        return LocalFile(path: path, descriptor: descriptor, ownsDescriptor: true, directDescriptor: direct)
    }

    /// Standard output, which is never closed here.
    static let standardOutput = LocalFile(path: "standard output", descriptor: STDOUT_FILENO, ownsDescriptor: false)

    private static func open(_ path: String, flags: Int32, mode: mode_t, operation: String) throws -> LocalFile {
        LocalFile(
            path: path, descriptor: try openDescriptor(path, flags: flags, mode: mode, operation: operation),
            ownsDescriptor: true)
    }

    private static func openDescriptor(
        _ path: String, flags: Int32, mode: mode_t, operation: String, writing: Bool = false
    ) throws -> Int32 {
        let descriptor = systemOpen(path, flags | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw LocalFileError(path: path, operation: operation, code: errno, writing: writing)
        }
        return descriptor
    }

    func status() throws -> Status {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw LocalFileError(path: path, operation: "stat", code: errno) }
        return Status(
            size: Int64(info.st_size),
            modificationTime: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            isRegularFile: (info.st_mode & S_IFMT) == S_IFREG)
    }

    /// Whether a byte can be read at `offset` (a file stat calls empty may still have some).
    func hasBytes(at offset: Int64) throws -> Bool {
        var byte: UInt8 = 0
        return try withUnsafeMutableBytes(of: &byte) { try read(into: $0, at: offset) } > 0
    }

    /// Fills `buffer` from `offset`; fewer bytes only at the end of the file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws -> Int {
        try repeating(buffer.count, operation: "read") { done in
            pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
        }
    }

    /// Exactly `count` bytes from `offset`; a file that ends sooner has changed under us.
    func read(count: Int, at offset: Int64) throws -> Data {
        var data = Data(count: count)
        try data.withUnsafeMutableBytes { try self.read(exactly: $0, at: offset) }
        return data
    }

    /// Fills all of `buffer` from `offset`; a file that ends sooner has changed under us.
    func read(exactly buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws {
        let read = try read(into: buffer, at: offset)
        guard read == buffer.count else {
            throw FileChangedError(path: path, endsAt: offset + Int64(read))
        }
    }

    /// Writes all of `bytes` at `offset`.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try writing.withLock { try writeAll(bytes, at: offset, through: descriptor) }
    }

    /// Whether ``writePages(_:at:)`` still writes past the page cache.
    var writesDirectly: Bool { directDescriptor.load(ordering: .relaxed) >= 0 }

    /// Writes whole pages from page-aligned memory at a page-aligned `offset` (a
    /// ``DirectWriteRun``'s), past the page cache when the file was opened for direct writes.
    /// A file system that refuses a direct write (``DirectIO/isRefusal(_:)``) gets it, and every
    /// later one, through the cache.
    func writePages(_ pages: UnsafeRawBufferPointer, at offset: Int64) throws {
        try writing.withLock {
            let direct = directDescriptor.load(ordering: .relaxed)
            if direct >= 0 {
                do {
                    return try writeAll(pages, at: offset, through: direct)
                } catch let error as LocalFileError where DirectIO.isRefusal(error.code) {
                    directDescriptor.store(-1, ordering: .relaxed)
                    close(direct)
                }
            }
            try writeAll(pages, at: offset, through: descriptor)
        }
    }

    /// `pwrite`s all of `bytes` at `offset` through `file` (this file's ordinary or direct descriptor).
    private func writeAll(_ bytes: UnsafeRawBufferPointer, at offset: Int64, through file: Int32) throws {
        try writeAll(bytes) { done in
            pwrite(file, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
        }
    }

    /// Writes all of `bytes` at the current position (for pipes such as standard output).
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        try writeAll(bytes) { done in systemWrite(descriptor, bytes.baseAddress! + done, bytes.count - done) }
    }

    /// Runs `write` (a write of `bytes` from `done` on) until all of `bytes` is written.
    private func writeAll(_ bytes: UnsafeRawBufferPointer, _ write: (_ done: Int) -> Int) throws {
        guard try repeating(bytes.count, operation: "write", write) == bytes.count else {
            throw LocalFileError(path: path, operation: "write", code: 0, detail: "the system wrote nothing")
        }
    }

    /// Repeats `call` (a read or write of the bytes from `done` on, answering how many it moved)
    /// until `count` bytes have moved or one moves none (the end of a file being read);
    /// retries interrupted calls. Returns how many moved.
    private func repeating(_ count: Int, operation: String, _ call: (_ done: Int) -> Int) throws -> Int {
        var done = 0
        while done < count {
            let moved = call(done)
            if moved < 0 {
                if errno == EINTR { continue }
                throw LocalFileError(path: path, operation: operation, code: errno)
            }
            if moved == 0 { break }
            done += moved
        }
        return done
    }

    func truncate(to size: Int64) throws {
        guard ftruncate(descriptor, off_t(size)) == 0 else {
            throw LocalFileError(path: path, operation: "resize", code: errno)
        }
    }

    func sync() throws {
        guard fsync(descriptor) == 0 else { throw LocalFileError(path: path, operation: "fsync", code: errno) }
    }
}

// The members `open` and `write` above hide the system calls of the same names.
private func systemOpen(_ path: String, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}

private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, bytes, count)
}
