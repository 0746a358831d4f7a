import Foundation
import SluiceOpenSSL

/// One page of the disk store's keys, walked in order of (scope, hex digest) — which is the
/// order of the directory tree, so a page can resume after a key by skipping whole directories
/// before it instead of keeping a cursor open between pages.
///
/// Names that are not the store's (a scope that fails validation, a file whose name is not the
/// lowercase digest under its own fan-out directories) are left alone and not listed: deleting a
/// listed key must remove exactly the file that was listed.
struct DiskBlobListing {
    let layout: DiskBlobLayout
    let cutoff: Date
    let after: BlobKey?
    let limit: Int

    func page() throws -> [BlobKey] {
        var keys: [BlobKey] = []
        // At each level only names that can lead past `after` are entered: those equal to its
        // component at that level (while every level above was equal too), or sorting after it.
        let resume = after.map(Resume.init)
        for scope in try sortedEntries(layout.blobs) where BlobKey.isValidScope(scope) {
            if let resume, scope < resume.scope { continue }
            let inScope = scope == resume?.scope
            let scopeDirectory = layout.blobs + "/" + scope
            for first in try sortedEntries(scopeDirectory) where isFanOut(first) {
                if inScope, let resume, first < resume.first { continue }
                let inFirst = inScope && first == resume?.first
                let firstDirectory = scopeDirectory + "/" + first
                for second in try sortedEntries(firstDirectory) where isFanOut(second) {
                    if inFirst, let resume, second < resume.second { continue }
                    let inSecond = inFirst && second == resume?.second
                    let secondDirectory = firstDirectory + "/" + second
                    for name in try sortedEntries(secondDirectory) {
                        if inSecond, let resume, name <= resume.hex { continue }
                        guard name.hasPrefix(first + second), let key = try? BlobKey(scope: scope, hex: name),
                            let status = try POSIX.status(secondDirectory + "/" + name),
                            status.isRegularFile, status.modified < cutoff
                        else { continue }
                        keys.append(key)
                        if keys.count == limit { return keys }
                    }
                }
            }
        }
        return keys
    }

    /// The key a page resumes after, split into its path components.
    private struct Resume {
        let scope, first, second, hex: String

        init(_ key: BlobKey) {
            hex = key.hex
            scope = key.scope
            first = String(hex.prefix(2))
            second = String(hex.dropFirst(2).prefix(2))
        }
    }

    /// The entries of a directory in byte order (all the store's names are ASCII, for which
    /// `String` comparison is byte order); none if it vanished meanwhile.
    private func sortedEntries(_ directory: String) throws -> [String] {
        try POSIX.entries(directory)?.sorted() ?? []
    }

    private func isFanOut(_ name: String) -> Bool {
        name.utf8.count == 2 && Hex.decode(name) != nil
    }
}
