/// Where the disk store keeps things under its root:
///
///     <root>/blobs/<scope>/<hex[0..<2]>/<hex[2..<4]>/<hex>   finished blobs
///     <root>/staging/<random>.part                           bytes being written
///
/// Paths are built only from a ``BlobKey`` (whose scope and digest are validated) and from random
/// hex, never from anything a user named. Two levels of 256-way fan-out keep directories small
/// (a billion blobs in one scope is about 15,000 per directory). Staging lives on the same file
/// system as the blobs so that publishing a blob is a `rename`.
struct DiskBlobLayout: Sendable {
    /// Where one blob goes: its fan-out directories, outermost first, and its file.
    struct Location {
        var directories: [String]
        var file: String
    }

    let root: String
    /// One for the store's life: it knows which staging files the store's writers hold.
    let staging: StagingDirectory

    init(root: String) {
        self.root = root
        self.staging = StagingDirectory(path: root + "/staging")
    }

    var blobs: String { root + "/blobs" }

    func location(of key: BlobKey) -> Location {
        let hex = key.hex
        let scope = blobs + "/" + key.scope
        let first = scope + "/" + hex.prefix(2)
        let second = first + "/" + hex.dropFirst(2).prefix(2)
        return Location(directories: [scope, first, second], file: second + "/" + hex)
    }
}
