#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A new staging file that bytes are appended to, in order, before it is synced and published.
///
/// A large blob is written past the page cache (`O_DIRECT`, see ``directWriteThreshold``): every
/// blob is `fdatasync`ed before it is acknowledged anyway, so caching its pages buys nothing on
/// the way in, while copying each byte into freshly allocated cache pages was the largest kernel
/// cost of a durable upload (`copy_folio_from_iter_atomic`, up to half of sluiced's CPU on this
/// project's machines, and the source of its run-to-run swings). Direct writes must start and
/// end on page boundaries from page-aligned memory, so the bytes go through a pooled aligned
/// buffer (``AlignedBufferPool``) in whole pages; the last partial page waits in `tail` and is
/// written through the cache at ``finishWriting()``. A file system that refuses direct I/O, at
/// `open` or at a write, gets ordinary writes instead.
struct StagingFile: ~Copyable {
    /// Blobs at least this large are written past the page cache. Smaller ones (a `PutObject`,
    /// a small partition) are one or a few writes, where a direct write would only add a device
    /// round trip before the `fdatasync` that follows.
    static let directWriteThreshold: Int64 = 1 << 20

    let descriptor: Int32
    let path: String
    /// Whether writes still bypass the page cache.
    private(set) var isDirect: Bool
    /// Bytes appended past the last whole page written, not in the file yet (direct only).
    private var tail: [UInt8] = []
    /// Bytes in the file.
    private var written: Int64 = 0

    /// Creates the file (exclusively, mode 0600) for a blob of `size` bytes; `mayBypassCache`
    /// false keeps every write in the page cache (for a file that is read back at once).
    init(creating path: String, size: Int64, mayBypassCache: Bool) throws {
        let flags = O_WRONLY | O_CREAT | O_EXCL
        if mayBypassCache, size >= Self.directWriteThreshold, let direct = POSIX.directIOFlag {
            do {
                self.descriptor = try POSIX.openFile(path, flags: flags | direct, mode: 0o600)
                self.path = path
                self.isDirect = true
                return
            } catch BlobError.io(_, _, EINVAL) {
                // The file system has no direct I/O (tmpfs before Linux 6.6, some FUSE ones).
            }
        }
        self.descriptor = try POSIX.openFile(path, flags: flags, mode: 0o600)
        self.path = path
        self.isDirect = false
    }

    /// Appends `bytes` at the end of what was appended before.
    mutating func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard isDirect else {
            try writeTail()
            try POSIX.writeAll(descriptor, bytes, at: written, path: path)
            written += Int64(bytes.count)
            return
        }
        try AlignedBufferPool.shared.withBuffer { bounce in
            var filled = tail.count
            tail.withUnsafeBytes { bounce.copyMemory(from: $0) }
            tail.removeAll(keepingCapacity: true)
            var rest = bytes
            while true {
                let taken = min(rest.count, bounce.count - filled)
                if taken > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: bounce[filled..<filled + taken])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: rest[..<taken]))
                }
                filled += taken
                rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
                if rest.isEmpty { break }
                try writeDirect(UnsafeRawBufferPointer(bounce))
                filled = 0
            }
            let wholePages = filled - filled % AlignedBufferPool.alignment
            if wholePages > 0 { try writeDirect(UnsafeRawBufferPointer(rebasing: bounce[..<wholePages])) }
            tail.append(contentsOf: UnsafeRawBufferPointer(rebasing: bounce[wholePages..<filled]))
        }
    }

    /// Writes what is still held back (the last partial page); the file then holds every byte
    /// appended, ready to be synced.
    mutating func finishWriting() throws {
        try writeTail()
    }

    /// Writes the held-back partial page through the page cache (a direct write cannot end
    /// mid-page), after which every write does.
    private mutating func writeTail() throws {
        guard !tail.isEmpty else { return }
        if isDirect {
            try POSIX.stopDirectIO(descriptor, path: path)
            isDirect = false
        }
        try tail.withUnsafeBytes { try POSIX.writeAll(descriptor, $0, at: written, path: path) }
        written += Int64(tail.count)
        tail = []
    }

    /// Writes whole pages from aligned memory; a file system that turns out to refuse direct
    /// writes (`EINVAL`) gets the same bytes, and every later write, through the page cache.
    private mutating func writeDirect(_ pages: UnsafeRawBufferPointer) throws {
        do {
            try POSIX.writeAll(descriptor, pages, at: written, path: path)
        } catch BlobError.io(_, _, EINVAL) where isDirect {
            try POSIX.stopDirectIO(descriptor, path: path)
            isDirect = false
            try POSIX.writeAll(descriptor, pages, at: written, path: path)
        }
        written += Int64(pages.count)
    }
}
