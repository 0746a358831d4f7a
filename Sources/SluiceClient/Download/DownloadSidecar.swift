import Foundation

/// The small journal beside a partial download (`.<name>.sluice-part.json`): which object's
/// bytes the partial file holds and which of its partitions were verified. A resumed
/// download trusts a partition only if it is listed here and its bytes still hash right.
///
/// On disk: this description as one line of JSON, written once per run, then one line per
/// partition verified since, appended (``SidecarRecorder``): bookkeeping linear in the
/// number of partitions. A torn last line can only name a partition wrongly, and every
/// listed partition is re-hashed before it is trusted.
struct DownloadSidecar: Codable, Sendable, Equatable {
    var objectName: String
    var version: Int64
    var size: Int64
    var partitionSize: Int64
    /// Hex SHA-256 of the whole object; empty while the server had not computed it.
    var objectSHA256: String
    /// Hex SHA-256 of each partition.
    var partitionSHA256: [String]
    /// Indexes of the partitions verified on disk, ascending.
    var verified: [Int]

    /// Whether both describe the same bytes (the version number may differ: a restore makes
    /// a new version of the same bytes). The partition hashes decide; the whole-object hash
    /// only when both know it (it becomes known after the commit).
    func describesSameBytes(as other: DownloadSidecar) -> Bool {
        (objectSHA256.isEmpty || other.objectSHA256.isEmpty || objectSHA256 == other.objectSHA256) && size == other.size && partitionSize == other.partitionSize
            && partitionSHA256 == other.partitionSHA256
    }

    static func load(from path: String) -> DownloadSidecar? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        guard let header = lines.first, var sidecar = try? JSONDecoder().decode(DownloadSidecar.self, from: header) else {
            return nil
        }
        let appended = lines.dropFirst().compactMap { Int(String(decoding: $0, as: UTF8.self)) }
        sidecar.verified = Array(Set(sidecar.verified + appended)).sorted()
        return sidecar
    }

    /// Replaces the file with this description alone (atomically); appended lines follow it.
    /// Returns the bytes written.
    @discardableResult
    func save(to path: String) throws -> Int {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(self)
        line.append(UInt8(ascii: "\n"))
        try AtomicWrite.write(line, to: path)
        return line.count
    }
}
