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
        let resume = after.map { [$0.scope] + layout.fanOut.components(of: $0.hex) + [$0.hex] }
        for scope in try sortedEntries(layout.blobs) where BlobKey.isValidScope(scope) {
            if let resume, scope < resume[0] { continue }
            try walk(
                layout.blobs + "/" + scope, scope: scope, depth: 0, prefix: "",
                resume: scope == resume?[0] ? resume : nil, into: &keys)
            if keys.count == limit { break }
        }
        return keys
    }

    /// Lists into `keys` the blobs under `directory`, which is `depth` fan-out levels below
    /// `scope` and reached through the names `prefix` spells. `resume` is the components of
    /// `after` (scope, fan-out names, digest) while every level so far equalled them.
    private func walk(
        _ directory: String, scope: String, depth: Int, prefix: String, resume: [String]?, into keys: inout [BlobKey]
    ) throws {
        let names = try sortedEntries(directory)
        guard depth == layout.fanOut.rawValue else {
            for name in names where DiskFanOut.isDirectoryName(name) {
                if let resume, name < resume[depth + 1] { continue }
                try walk(
                    directory + "/" + name, scope: scope, depth: depth + 1, prefix: prefix + name,
                    resume: name == resume?[depth + 1] ? resume : nil, into: &keys)
                if keys.count == limit { return }
            }
            return
        }
        for name in names {
            if let resume, name <= resume[depth + 1] { continue }
            guard name.hasPrefix(prefix), let key = try? BlobKey(scope: scope, hex: name),
                let status = try POSIX.status(directory + "/" + name),
                status.isRegularFile, status.modified < cutoff
            else { continue }
            keys.append(key)
            if keys.count == limit { return }
        }
    }

    /// The entries of a directory in byte order (all the store's names are ASCII, for which
    /// `String` comparison is byte order); none if it vanished meanwhile.
    private func sortedEntries(_ directory: String) throws -> [String] {
        try POSIX.entries(directory)?.sorted() ?? []
    }
}
