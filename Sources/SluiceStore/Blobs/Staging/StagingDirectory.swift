import Foundation

import SluiceOpenSSL
import Synchronization

/// A directory of staging files: blobs being received, before their store publishes them.
///
/// Names are 128 random bits in hex plus ``suffix``, so that nothing a user named ever becomes
/// a path, and anything else in the directory is left alone.
///
/// A staging file is abandoned when no writer holds it: this process's writers hold theirs from
/// ``claimNewFile()`` until ``release(_:)``, however long a partition takes to trickle in, and
/// the sweep judges only the other files (left by a process that stopped, or by another
/// instance sharing the directory) by their age.
struct StagingDirectory: Sendable {
    /// The suffix of staging files; nothing else in the directory is the store's.
    static let suffix = ".part"

    let path: String
    private let held = HeldStagingFiles()

    init(path: String) {
        self.path = path
    }

    /// A fresh staging path, held until ``release(_:)``: 128 random bits make a collision with
    /// another writer negligible, and the exclusive create that opens it turns even that into an
    /// error rather than sharing.
    func claimNewFile() -> String {
        let name = Hex.encode(RandomBytes.make(16))
        let file = path + "/" + name + Self.suffix
        held.insert(file)
        return file
    }

    /// Lets the sweep judge `file` by its age again: its writer is done with it.
    func release(_ file: String) {
        held.remove(file)
    }

    /// Makes the directory again, durably, after it was removed (call on the blocking pool).
    func makeAgain() throws {
        if try POSIX.makeDirectory(path) {
            try POSIX.syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        }
    }

    /// Removes staging files no writer of this process holds and untouched since before
    /// `cutoff` (call on the blocking pool).
    func removeFiles(olderThan cutoff: Date) throws -> Int {
        var removed = 0
        for name in try POSIX.entries(path) ?? [] where name.hasSuffix(Self.suffix) {
            let file = path + "/" + name
            guard !held.contains(file), let status = try POSIX.status(file), status.isRegularFile,
                  status.modified < cutoff
            else { continue }
            if try POSIX.removeFile(file) { removed += 1 }
        }
        return removed
    }
}

/// The staging files this process's writers hold (see ``StagingDirectory``).
private final class HeldStagingFiles: Sendable {
    private let files = Mutex<Set<String>>([])

    func insert(_ file: String) { _ = files.withLock { $0.insert(file) } }
    func remove(_ file: String) { _ = files.withLock { $0.remove(file) } }
    func contains(_ file: String) -> Bool { files.withLock { $0.contains(file) } }
}
