import Foundation

import SluiceOpenSSL

/// A directory of staging files: blobs being received, before their store publishes them.
///
/// Names are 128 random bits in hex plus ``suffix``, so that nothing a user named ever becomes
/// a path, and anything else in the directory is left alone.
struct StagingDirectory: Sendable {
    /// The suffix of staging files; nothing else in the directory is the store's.
    static let suffix = ".part"

    let path: String

    /// A fresh staging path: 128 random bits make a collision with another writer negligible,
    /// and the exclusive create that opens it turns even that into an error rather than sharing.
    func newFilePath() -> String {
        let name = Hex.encode(RandomBytes.make(16))
        return path + "/" + name + Self.suffix
    }

    /// Makes the directory again, durably, after it was removed (call on the blocking pool).
    func makeAgain() throws {
        if try POSIX.makeDirectory(path) {
            try POSIX.syncDirectory(URL(fileURLWithPath: path).deletingLastPathComponent().path)
        }
    }

    /// Removes staging files untouched since before `cutoff` (call on the blocking pool).
    func removeFiles(olderThan cutoff: Date) throws -> Int {
        var removed = 0
        for name in try POSIX.entries(path) ?? [] where name.hasSuffix(Self.suffix) {
            let file = path + "/" + name
            guard let status = try POSIX.status(file), status.isRegularFile, status.modified < cutoff else { continue }
            if try POSIX.removeFile(file) { removed += 1 }
        }
        return removed
    }
}
