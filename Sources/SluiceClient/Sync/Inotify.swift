import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The one place sync calls inotify (Linux): a descriptor, watches on directories, and a
/// thread that blocks reading events and reports that something changed. What changed is not
/// parsed: a sync pass compares everything anyway, cheaply (stat, not hash, for files it
/// knows).
final class Inotify: Sendable {
    private let descriptor: Int32

    /// What is watched on every directory: anything that can change a synced file or the tree.
    private static let mask = UInt32(IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO
        | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

    /// nil when inotify is not available (the sync then rescans periodically only).
    init?() {
        let descriptor = inotify_init1(Int32(IN_CLOEXEC))
        guard descriptor >= 0 else { return nil }
        self.descriptor = descriptor
    }

    /// Watches one directory (again is harmless); false when it cannot (gone, or the
    /// per-user limit of watches, fs.inotify.max_user_watches, is reached).
    @discardableResult
    func watch(_ directory: String) -> Bool {
        inotify_add_watch(descriptor, directory, Self.mask) >= 0
    }

    /// Starts a thread that calls `changed` after every batch of events, for the life of
    /// the process (a sync with --watch runs until it is stopped).
    func start(_ changed: @escaping @Sendable () -> Void) {
        let descriptor = descriptor
        let thread = Thread {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)
            defer { buffer.deallocate() }
            while true {
                let count = read(descriptor, buffer.baseAddress, buffer.count)
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { return }
                changed()
            }
        }
        thread.name = "sluice-sync-inotify"
        thread.start()
    }
}
