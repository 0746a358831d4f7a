import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The one place sync calls inotify (Linux): a descriptor, watches on directories, and a
/// thread that blocks reading events and reports which paths they name, so that a watch
/// round looks only at those.
final class Inotify: Sendable {
    /// What a batch of events says.
    enum Report: Sendable, Equatable {
        /// Something at this absolute path changed (an entry of a watched directory, or the
        /// directory itself).
        case changed(String)
        /// Events were lost (the kernel's queue overflowed) or name a watch no longer known:
        /// only a full pass can tell what changed.
        case lost
    }

    private let descriptor: Int32
    /// Watch descriptor → the absolute directory it watches.
    private let watched = Mutex<[Int32: String]>([:])

    /// What is watched on every directory: anything that can change a synced file or the tree.
    private static let mask = UInt32(IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO
        | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

    /// nil when inotify is not available (the sync then rescans periodically only).
    init?() {
        let descriptor = inotify_init1(Int32(IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Watches one directory (again is harmless, and renames the watch when the directory
    /// moved); false when it cannot (gone, or the per-user limit of watches,
    /// fs.inotify.max_user_watches, is reached).
    @discardableResult
    func watch(_ directory: String) -> Bool {
        let watch = inotify_add_watch(descriptor, directory, Self.mask)
        guard watch >= 0 else { return false }
        watched.withLock { $0[watch] = directory }
        return true
    }

    /// Starts a thread that reports every batch of events it reads, for the life of the
    /// process (a sync with --watch runs until it is stopped).
    func start(_ report: @escaping @Sendable ([Report]) -> Void) {
        let descriptor = descriptor
        let thread = Thread { [self] in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
            defer { buffer.deallocate() }
            while true {
                let count = read(descriptor, buffer.baseAddress, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                report(reports(in: UnsafeRawBufferPointer(rebasing: buffer[..<count])))
            }
        }
        thread.name = "sluice-sync-inotify"
        thread.start()
    }

    /// The size of `struct inotify_event` before its name: wd, mask, cookie, len.
    private static let headerSize = 16

    /// Parses one read's events: each a header (wd, mask, cookie, len) and `len` bytes of
    /// NUL-padded name.
    func reports(in bytes: UnsafeRawBufferPointer) -> [Report] {
        var reports: [Report] = []
        var offset = 0
        while offset + Self.headerSize <= bytes.count {
            let watch = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            let nameBytes = bytes[(offset + Self.headerSize)..<min(bytes.count, offset + Self.headerSize + length)]
            offset += Self.headerSize + length
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                reports.append(.lost)
                continue
            }
            let directory = watched.withLock { watched -> String? in
                defer { if mask & UInt32(IN_IGNORED) != 0 { watched[watch] = nil } }
                return watched[watch]
            }
            if mask & UInt32(IN_IGNORED) != 0 { continue }
            guard let directory else {
                reports.append(.lost)
                continue
            }
            let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
            reports.append(.changed(name.isEmpty ? directory : directory + "/" + name))
            // A watched directory that moved keeps reporting under its old path until it is
            // watched again: only a full pass sees where it went.
            if mask & UInt32(IN_MOVE_SELF) != 0 { reports.append(.lost) }
        }
        return reports
    }
}
