import Foundation

/// The small journal beside a partial download (`.<name>.sluice-part.json`): which object's
/// bytes the partial file holds and which of its partitions were verified. A resumed
/// download trusts a partition only if it is listed here and its bytes still hash right.
struct DownloadSidecar: Codable, Sendable, Equatable {
    var objectName: String
    var version: Int64
    var size: Int64
    var partitionSize: Int64
    /// Hex SHA-256 of the whole object.
    var objectSHA256: String
    /// Hex SHA-256 of each partition.
    var partitionSHA256: [String]
    /// Indexes of the partitions verified on disk, ascending.
    var verified: [Int]

    /// Whether both describe the same bytes (the version number may differ: a restore makes
    /// a new version of the same bytes).
    func describesSameBytes(as other: DownloadSidecar) -> Bool {
        objectSHA256 == other.objectSHA256 && size == other.size && partitionSize == other.partitionSize
            && partitionSHA256 == other.partitionSHA256
    }

    static func load(from path: String) -> DownloadSidecar? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(DownloadSidecar.self, from: data)
    }

    func save(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicWrite.write(try encoder.encode(self), to: path)
    }
}
