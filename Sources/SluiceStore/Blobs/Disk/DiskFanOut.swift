import Foundation
import SluiceOpenSSL

/// How many levels of 256-way fan-out directories a disk store puts between a scope and its
/// blobs (see ``DiskBlobLayout``), as its `layout` file records it.
enum DiskFanOut: Int, Sendable {
    case oneLevel = 1
    case twoLevels = 2

    /// The most bytes a layout file holds; anything longer is not one.
    private static let maxRecordedBytes = 256

    /// The directory names between a scope and the blob with digest `hex`: its first two hex
    /// digits, then the next two.
    func components(of hex: String) -> [String] {
        (0..<rawValue).map { level in String(hex.dropFirst(2 * level).prefix(2)) }
    }

    /// The layout file's text.
    var recorded: String { "fan-out levels: \(rawValue)\n" }

    init?(recorded: String) {
        guard let fanOut = [DiskFanOut.oneLevel, .twoLevels].first(where: { $0.recorded == recorded }) else { return nil }
        self = fanOut
    }

    /// The store's fan-out: what its layout file says, or — for a store without one — decided
    /// now and recorded durably before any blob is written: the fan-out of the blobs already
    /// there (a store made before the layout file existed has two levels; one whose file was
    /// lost, say by a restore that missed it, has whatever it was made with), one level for a
    /// store holding no blob. Instances starting at once on one store agree: the first to record
    /// its decision wins, and the others read it. Blocking.
    static func settle(root: String, blobs: String) throws -> DiskFanOut {
        let path = root + "/layout"
        if let recorded = try read(path) { return recorded }
        let found = try inferred(blobs: blobs)
        let fanOut = found ?? .oneLevel
        let temporarySuffix = Hex.encode(RandomBytes.make(8)) + ".new"
        let created: Bool
        do {
            created = try POSIX.createFileDurably(path, with: fanOut.recorded, temporarySuffix: temporarySuffix)
        } catch where found != nil {
            // A store with blobs on a full or read-only disk: its blobs say how they are laid
            // out, and will at every start until the file can be written, so it opens as before.
            return fanOut
        }
        if created { return fanOut }
        guard let recorded = try read(path) else { throw BlobError.unknownLayout(path: path, content: "") }
        return recorded
    }

    /// Whether `name` is a fan-out directory's: two hex digits.
    static func isDirectoryName(_ name: String) -> Bool {
        name.utf8.count == 2 && Hex.decode(name) != nil
    }

    /// The fan-out of the blobs stored under `blobs`, read from the tree: below a scope, a first
    /// fan-out directory holds blob files with one level and further fan-out directories with
    /// two. Nil when no scope holds either (nothing is stored). Stops at the first that tells.
    private static func inferred(blobs: String) throws -> DiskFanOut? {
        for scope in try POSIX.entries(blobs) ?? [] where BlobKey.isValidScope(scope) {
            for first in try POSIX.entries(blobs + "/" + scope) ?? [] where isDirectoryName(first) {
                for name in try POSIX.entries(blobs + "/" + scope + "/" + first) ?? [] {
                    if (try? BlobKey(scope: scope, hex: name)) != nil, name.hasPrefix(first) { return .oneLevel }
                    if isDirectoryName(name) { return .twoLevels }
                }
            }
        }
        return nil
    }

    /// What the layout file at `path` records; nil when there is none.
    private static func read(_ path: String) throws -> DiskFanOut? {
        guard let text = try POSIX.readSmallFile(path, limit: maxRecordedBytes) else { return nil }
        guard let fanOut = DiskFanOut(recorded: text) else {
            throw BlobError.unknownLayout(path: path, content: text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return fanOut
    }
}
