import Foundation

/// Exclusive locks (flock) on files, which keep two runs of the same command from writing the
/// same files at once: two downloads into one target, two uploads sharing one journal entry.
/// The kernel drops a lock with its descriptor, however the process ends.
enum FileLock {
    /// A descriptor `open` makes on `path`, locked; nil when another process holds the lock.
    ///
    /// A file its holder renamed or removed before letting go is opened again and locked anew:
    /// the path must still name the file locked, or the writes would land in a file that is
    /// no longer the one wanted (a finished download's target, say).
    static func openLocked(_ path: String, _ open: () throws -> Int32) throws -> Int32? {
        while true {
            let descriptor = try open()
            guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
                let code = errno
                close(descriptor)
                if code == EWOULDBLOCK { return nil }
                throw LocalFileError(path: path, operation: "lock", code: code)
            }
            var opened = stat(), named = stat()
            if fstat(descriptor, &opened) == 0, stat(path, &named) == 0,
               opened.st_dev == named.st_dev, opened.st_ino == named.st_ino
            {
                return descriptor
            }
            close(descriptor)
        }
    }

    /// A descriptor on the lock file `path` (created when missing), locked; nil when another
    /// process holds the lock.
    static func lockFile(_ path: String) throws -> Int32? {
        try openLocked(path) {
            let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard descriptor >= 0 else { throw LocalFileError(path: path, operation: "create", code: errno, writing: true) }
            return descriptor
        }
    }
}

/// A lock file (``FileLock``) held for the length of one command and removed after it.
final class LockFile: Sendable {
    let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Takes the lock of `path`, creating the file; nil when another process holds it.
    static func take(_ path: String) throws -> LockFile? {
        try FileLock.lockFile(path).map { LockFile(path: path, descriptor: $0) }
    }

    /// Removes the file while still holding it (a taker that opened it meanwhile finds it gone
    /// and makes a new one), then lets go.
    deinit {
        unlink(path)
        close(descriptor)
    }
}
