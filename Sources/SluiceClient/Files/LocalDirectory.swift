import Foundation

/// A directory under a root, held open by descriptor and reached one component at a time
/// without following symbolic links (`openat` with `O_NOFOLLOW | O_DIRECTORY`). Whatever is
/// created, renamed or deleted through it lands in that very directory: a component of its
/// path that is a link (to somewhere outside the root) or not a directory stops the opening,
/// and one replaced by a link after the opening changes nothing, as the calls go through the
/// descriptor rather than the path.
///
/// The descriptor is closed when the value goes away; ``path(of:)`` is only valid while it
/// is alive, so a caller that hands such a path to path-based code keeps using the value
/// (a later call on it) until that code is done.
final class LocalDirectory: Sendable {
    /// The directory's path, for messages and for what is keyed by path (fsync bookkeeping).
    let path: String
    private let descriptor: Int32

    /// A component of the path that cannot be entered without leaving the root: a symbolic
    /// link, or something other than a directory.
    struct Unreachable: Error, CustomStringConvertible, Sendable, Equatable {
        /// The component's path relative to the root.
        var component: String
        var isSymbolicLink: Bool

        var description: String {
            isSymbolicLink
                ? "'\(component)' is a symbolic link, not followed"
                : "'\(component)' is not a directory"
        }
    }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Opens `relative` ("/"-separated, "" for the root itself) under `root`; `root` itself
    /// may be a link (the user chose it). With `creating`, missing directories are made
    /// (mode 0755 before the umask).
    ///
    /// - Throws: ``Unreachable`` for a link or a non-directory among the components;
    ///   `LocalFileError` (ENOENT when a component is missing and not `creating`).
    static func open(root: String, relative: String, creating: Bool) throws -> LocalDirectory {
        let top = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard top >= 0 else { throw LocalFileError(path: root, operation: "open the directory", code: errno) }
        var directory = LocalDirectory(path: root, descriptor: top)
        var reached = ""
        for component in relative.split(separator: "/") {
            let name = String(component)
            reached = reached.isEmpty ? name : reached + "/" + name
            directory = try directory.child(name, relative: reached, creating: creating)
        }
        return directory
    }

    /// The subdirectory `name`, made first when missing and `creating`.
    private func child(_ name: String, relative: String, creating: Bool) throws -> LocalDirectory {
        let childPath = path + "/" + name
        while true {
            let opened = openat(descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if opened >= 0 { return LocalDirectory(path: childPath, descriptor: opened) }
            let code = errno
            switch code {
            case EINTR:
                continue
            case ELOOP, ENOTDIR:
                throw Unreachable(component: relative, isSymbolicLink: status(of: name)?.kind == S_IFLNK)
            case ENOENT where creating:
                // Made meanwhile by someone else: open what is there (checked like any other).
                guard mkdirat(descriptor, name, 0o755) == 0 || errno == EEXIST else {
                    throw LocalFileError(path: childPath, operation: "create the directory", code: errno)
                }
            default:
                throw LocalFileError(path: childPath, operation: "open the directory", code: code)
            }
        }
    }

    /// The entry's stat, nil when it does not exist; a link is described, not followed.
    func status(of name: String) -> (stat: LocalStat, kind: mode_t)? {
        var info = stat()
        guard fstatat(descriptor, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { return nil }
        return (LocalStat(info), info.st_mode & S_IFMT)
    }

    /// A path naming `name` in this very directory (through `/proc/self/fd`, which resolves to
    /// the open directory whatever happened to its path), for code that takes paths.
    func path(of name: String) -> String {
        "/proc/self/fd/\(descriptor)/\(name)"
    }

    /// Runs `work`, which reaches files through ``path(of:)``, and names them by this
    /// directory's own path in what it throws: `/proc/self/fd/17/…` tells the person reading
    /// the message neither which folder is full nor which file failed.
    func namingFiles<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch var error as LocalFileError {
            error.path = readable(error.path)
            throw error
        } catch var error as FileChangedError {
            error.path = readable(error.path)
            throw error
        }
    }

    /// `anchored` with this directory's path in place of ``path(of:)``'s anchor.
    private func readable(_ anchored: String) -> String {
        let anchor = "/proc/self/fd/\(descriptor)/"
        return anchored.hasPrefix(anchor) ? path + "/" + anchored.dropFirst(anchor.count) : anchored
    }

    /// Renames `name` to `newName`, both in this directory (replacing `newName`).
    func rename(_ name: String, to newName: String) throws {
        guard renameat(descriptor, name, descriptor, newName) == 0 else {
            throw LocalFileError(path: path + "/" + newName, operation: "rename \(name) to", code: errno)
        }
    }

    /// Deletes the file `name` (not a directory); one already gone is no error.
    func removeFile(_ name: String) throws {
        guard unlinkat(descriptor, name, 0) == 0 || errno == ENOENT else {
            throw LocalFileError(path: path + "/" + name, operation: "delete", code: errno)
        }
    }

    /// Deletes the directory `name` if it is empty; whether it went.
    @discardableResult
    func removeDirectory(_ name: String) -> Bool {
        unlinkat(descriptor, name, AT_REMOVEDIR) == 0
    }
}
