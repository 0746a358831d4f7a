#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SluiceDirectIO

/// Thin wrappers over the POSIX calls the disk store makes: retry on `EINTR`, loop over short
/// transfers, and turn `errno` into ``BlobError/io(operation:path:errno:)``. All of them block;
/// callers run them on the store's thread pool, never on Swift's cooperative pool.
enum POSIX {
    /// What the store needs to know of a file.
    struct Status {
        var isRegularFile: Bool
        var size: Int64
        var modified: Date
    }

    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0) throws -> Int32 {
        while true {
            let descriptor = path.withCString { open($0, flags | O_CLOEXEC, mode) }
            if descriptor >= 0 { return descriptor }
            if errno != EINTR { throw failure("open", path) }
        }
    }

    /// Closes a descriptor. Errors are ignored: by the time the store closes a file its data has
    /// been synced (or is being thrown away), and retrying `close` after `EINTR` is wrong on Linux.
    static func closeFile(_ descriptor: Int32) {
        _ = close(descriptor)
    }

    static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer, at offset: Int64, path: String) throws {
        var done = 0
        while done < bytes.count {
            let written = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if written >= 0 {
                done += written
            } else if errno != EINTR {
                throw failure("write", path)
            }
        }
    }

    /// Reads until `buffer` is full or the file ends; returns the number of bytes read.
    static func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, at offset: Int64, path: String) throws -> Int {
        var done = 0
        while done < buffer.count {
            let read = pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if read > 0 {
                done += read
            } else if read == 0 {
                break
            } else if errno != EINTR {
                throw failure("read", path)
            }
        }
        return done
    }

    /// Turns `O_DIRECT` off: the descriptor's later writes go through the page cache.
    static func stopDirectIO(_ descriptor: Int32, path: String) throws {
        if !DirectIO.stop(on: descriptor) { throw failure("fcntl", path) }
    }

    /// Makes a file's data, and the metadata needed to read it back (its size), durable.
    static func syncData(_ descriptor: Int32, path: String) throws {
        #if os(Linux)
        let result = fdatasync(descriptor)
        #else
        // Darwin's fsync only reaches the drive's cache; F_FULLFSYNC reaches the platter.
        let result = fcntl(descriptor, F_FULLFSYNC)
        #endif
        if result != 0 { throw failure("fsync", path) }
    }

    /// Makes a directory's entries (files renamed or directories made in it) durable.
    static func syncDirectory(_ path: String) throws {
        let descriptor = try openFile(path, flags: O_RDONLY | O_DIRECTORY)
        defer { closeFile(descriptor) }
        if fsync(descriptor) != 0 { throw failure("fsync", path) }
    }

    /// Makes a directory; returns false if something already exists at `path`.
    static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws -> Bool {
        if mkdir(path, mode) == 0 { return true }
        if errno == EEXIST { return false }
        throw failure("mkdir", path)
    }

    /// Makes a directory and whichever of its parents are missing, each made durable in its
    /// own parent; returns false if something already exists at `path`.
    static func makeDirectoryAndParents(_ path: String, mode: mode_t = 0o700) throws -> Bool {
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if mkdir(path, mode) == 0 {
            try syncDirectory(parent)
            return true
        }
        if errno == EEXIST { return false }
        guard errno == ENOENT, parent != path else { throw failure("mkdir", path) }
        _ = try makeDirectoryAndParents(parent, mode: mode)
        return try makeDirectoryAndParents(path, mode: mode)
    }

    /// Renames atomically, replacing whatever is at `destination`.
    static func renameFile(_ source: String, to destination: String) throws {
        if rename(source, destination) != 0 { throw failure("rename \(source) to", destination) }
    }

    /// Removes a file; returns false if there was none.
    static func removeFile(_ path: String) throws -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT || errno == ENOTDIR { return false }
        throw failure("unlink", path)
    }

    /// The status of `path`, or nil if nothing is there.
    static func status(_ path: String) throws -> Status? {
        var info = stat()
        if stat(path, &info) != 0 {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw failure("stat", path)
        }
        return Status(info)
    }

    static func status(_ descriptor: Int32, path: String) throws -> Status {
        var info = stat()
        if fstat(descriptor, &info) != 0 { throw failure("stat", path) }
        return Status(info)
    }

    /// The text of a small file (at most `limit` bytes are read), or nil if there is none.
    static func readSmallFile(_ path: String, limit: Int) throws -> String? {
        guard try status(path) != nil else { return nil }
        let descriptor = try openFile(path, flags: O_RDONLY)
        defer { closeFile(descriptor) }
        var bytes = [UInt8](repeating: 0, count: limit)
        let count = try bytes.withUnsafeMutableBytes { try readFully(descriptor, into: $0, at: 0, path: path) }
        return String(decoding: bytes.prefix(count), as: UTF8.self)
    }

    /// Creates the file at `path` holding `text`, atomically and durably, unless one is there
    /// already: false then, and the file is left as it is. For a decision the first of several
    /// processes makes for all: the text goes to a file of its own beside `path` (named
    /// `suffix`), synced, and is linked in only if nothing is at `path` (`link` does not
    /// replace), then the directory is synced.
    static func createFileDurably(_ path: String, with text: String, temporarySuffix suffix: String) throws -> Bool {
        let temporary = path + "." + suffix
        let descriptor = try openFile(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        defer { _ = try? removeFile(temporary) }
        do {
            defer { closeFile(descriptor) }
            try Array(text.utf8).withUnsafeBytes { try writeAll(descriptor, $0, at: 0, path: temporary) }
            try syncData(descriptor, path: temporary)
        }
        if link(temporary, path) != 0 {
            if errno == EEXIST { return false }
            throw failure("link \(temporary) to", path)
        }
        try syncDirectory((path as NSString).deletingLastPathComponent)
        return true
    }

    /// The names in a directory, without `.` and `..`, or nil if the directory does not exist.
    static func entries(_ path: String) throws -> [String]? {
        guard let directory = opendir(path) else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw failure("opendir", path)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                if errno != 0 { throw failure("readdir", path) }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    private static func failure(_ operation: String, _ path: String) -> BlobError {
        .io(operation: operation, path: path, errno: errno)
    }
}

extension POSIX.Status {
    fileprivate init(_ info: stat) {
        #if canImport(Darwin)
        let time = info.st_mtimespec
        #else
        let time = info.st_mtim
        #endif
        self.init(
            isRegularFile: info.st_mode & S_IFMT == S_IFREG,
            size: Int64(info.st_size),
            modified: Date(timeIntervalSince1970: Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000)
        )
    }
}
