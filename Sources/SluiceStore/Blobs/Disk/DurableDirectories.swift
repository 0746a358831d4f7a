import Synchronization

/// Creates the fan-out directories a blob is renamed into, and makes each one's own entry durable
/// (an fsync of its parent) before the blob's rename is relied on: an fsync'ed file in a directory
/// whose entry was lost in a crash is lost with it.
///
/// It remembers the directories this process has made durable, so the cost is paid once per
/// directory, not once per blob. A directory found already existing but not remembered gets its
/// parent synced anyway: a concurrent writer, or a process that crashed, may have made it without
/// syncing yet. The memory is a cache; forgetting it (when it grows large) only costs fsyncs.
final class DurableDirectories: Sendable {
    private static let capacity = 100_000

    private let known = Mutex<Set<String>>([])

    /// Ensures every directory in `chain` (outermost first; each the parent of the next) exists
    /// with a durable entry. The parent of the first, `base`, must already be durable.
    func ensure(_ chain: [String], under base: String) throws {
        var parent = base
        for directory in chain {
            if !known.withLock({ $0.contains(directory) }) {
                _ = try POSIX.makeDirectory(directory)
                try POSIX.syncDirectory(parent)
                known.withLock { known in
                    if known.count >= Self.capacity { known.removeAll() }
                    known.insert(directory)
                }
            }
            parent = directory
        }
    }

    /// Forgets `chain`, whose directories were found missing: the next ``ensure(_:under:)`` makes
    /// them again.
    func forget(_ chain: [String]) {
        known.withLock { known in
            for directory in chain { known.remove(directory) }
        }
    }
}
