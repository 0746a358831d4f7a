/// Where the disk store keeps things under its root:
///
///     <root>/blobs/<scope>/<hex[0..<2]>/<hex>                finished blobs (one fan-out level)
///     <root>/blobs/<scope>/<hex[0..<2]>/<hex[2..<4]>/<hex>   finished blobs (two levels)
///     <root>/staging/<random>.part                           bytes being written
///     <root>/layout                                          how many fan-out levels
///
/// Paths are built only from a ``BlobKey`` (whose scope and digest are validated) and from random
/// hex, never from anything a user named. Staging lives on the same file system as the blobs so
/// that publishing a blob is a `rename`.
///
/// Stores made since the layout file exists use one level of 256-way fan-out: a young scope's
/// blobs then land in directories that already exist after its first few hundred, where two
/// levels (65,536 directories) made a new directory, and synced its parent, for nearly every
/// blob of its first tens of thousands: one `mkdir` and one `fsync` more per small object or
/// partition. One level keeps directories small enough for any file system with hashed
/// directories (a million blobs in one scope is about 4,000 per directory). Stores made before
/// keep their two levels (``DiskFanOut/settle(root:blobs:)``).
struct DiskBlobLayout: Sendable {
    /// Where one blob goes: its fan-out directories, outermost first, and its file.
    struct Location {
        var directories: [String]
        var file: String
    }

    let root: String
    let fanOut: DiskFanOut
    /// One for the store's life: it knows which staging files the store's writers hold.
    let staging: StagingDirectory

    init(root: String, fanOut: DiskFanOut) {
        self.root = root
        self.fanOut = fanOut
        self.staging = StagingDirectory(path: root + "/staging")
    }

    var blobs: String { Self.blobs(under: root) }

    static func blobs(under root: String) -> String { root + "/blobs" }

    func location(of key: BlobKey) -> Location {
        var directories = [blobs + "/" + key.scope]
        for component in fanOut.components(of: key.hex) {
            directories.append(directories[directories.count - 1] + "/" + component)
        }
        return Location(directories: directories, file: directories[directories.count - 1] + "/" + key.hex)
    }
}
