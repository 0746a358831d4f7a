#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import SluiceDirectIO

/// A new staging file that bytes are appended to, in order, before it is synced and published.
///
/// A blob of at least ``DirectIO/threshold`` bytes is written past the page cache (see
/// ``DirectIO`` for why), in whole pages cut by a ``DirectWriteRun``; its last partial page goes
/// through the cache at ``finishWriting()``. A file system that refuses direct I/O, at `open`
/// or at a write, gets ordinary writes instead.
struct StagingFile: ~Copyable {
    let descriptor: Int32
    let path: String
    /// Cuts the bytes into pages while writes bypass the page cache; nil once they do not.
    private var direct: DirectWriteRun?
    /// Bytes written through the page cache: all of them, or none until the direct run ends.
    private var written: Int64 = 0

    /// Whether the file was opened for direct writes and their run is not finished.
    var isDirect: Bool { direct != nil }

    /// Every byte appended so far, written or held back.
    var appended: Int64 { direct?.nextOffset ?? written }

    /// Creates the file (exclusively, mode 0600) for a blob of `size` bytes; `mayBypassCache`
    /// false keeps every write in the page cache (for a file that is read back at once).
    init(creating path: String, size: Int64, mayBypassCache: Bool) throws {
        let flags = O_WRONLY | O_CREAT | O_EXCL
        self.path = path
        if mayBypassCache, size >= DirectIO.threshold, let flag = DirectIO.openFlag {
            do {
                self.descriptor = try POSIX.openFile(path, flags: flags | flag, mode: 0o600)
                self.direct = DirectWriteRun(startingAt: 0)
                return
            } catch BlobError.io(_, _, let code) where DirectIO.isRefusal(code) {
                // The file system has no direct I/O (ramfs, some FUSE ones, tmpfs before Linux
                // 6.6). Linux refuses it only after creating the file: the name is ours, so the
                // file goes before the exclusive create is tried again.
                _ = try? POSIX.removeFile(path)
            }
        }
        self.descriptor = try POSIX.openFile(path, flags: flags, mode: 0o600)
        self.direct = nil
    }

    /// Appends `bytes` at the end of what was appended before.
    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard var run = direct else {
            try POSIX.writeAll(descriptor, bytes, at: written, path: path)
            written += Int64(bytes.count)
            return
        }
        defer { direct = run }
        try run.append(bytes) { pages, offset in try writePages(pages, at: offset) }
    }

    /// Writes what is still held back (the last partial page); the file then holds every byte
    /// appended, ready to be synced.
    mutating func finishWriting() throws {
        guard var run = direct else { return }
        let tail = run.takeTail()
        written = run.nextOffset
        direct = nil
        guard !tail.bytes.isEmpty else { return }
        try POSIX.stopDirectIO(descriptor, path: path)
        try tail.bytes.withUnsafeBytes { try POSIX.writeAll(descriptor, $0, at: tail.offset, path: path) }
    }

    /// Writes whole pages from aligned memory. A file system that turns out to refuse direct
    /// writes (``DirectIO/isRefusal(_:)``) gets the same bytes through the page cache, and the
    /// rest of the run still in pages, its tail at the end, as before.
    private func writePages(_ pages: UnsafeRawBufferPointer, at offset: Int64) throws {
        do {
            try POSIX.writeAll(descriptor, pages, at: offset, path: path)
        } catch BlobError.io(_, _, let code) where DirectIO.isRefusal(code) {
            try POSIX.stopDirectIO(descriptor, path: path)
            try POSIX.writeAll(descriptor, pages, at: offset, path: path)
        }
    }
}
