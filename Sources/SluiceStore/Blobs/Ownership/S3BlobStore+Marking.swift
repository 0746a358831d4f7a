import Foundation
import SluiceOpenSSL

/// The S3 store's mark: the object `PREFIX/database-id`, one line (outside `PREFIX/blobs/`, so
/// the collector never takes it for a blob). Instances sharing a bucket share their database,
/// so two that record at once record the same id.
extension S3BlobStore: BlobStoreMarking {
    /// The most bytes a mark holds; anything longer is answered as its size, which no id matches.
    private static let maxMarkBytes: Int64 = 256

    private var markKey: String { layout.prefix + "database-id" }

    public func recordedDatabaseID() async throws -> String? {
        guard let size = try await client.objectSize(markKey) else { return nil }
        guard size <= Self.maxMarkBytes else { return "(an object of \(size) bytes)" }
        var bytes: [UInt8] = []
        let stream = client.object(markKey, range: 0..<size, chunkSize: Int(Self.maxMarkBytes))
        while let chunk = try await stream.next() { bytes += chunk }
        return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public func recordDatabaseID(_ id: String) async throws -> String {
        if let recorded = try await recordedDatabaseID() { return recorded }
        let text = Array((id + "\n").utf8)
        let path = spool.path + "/database-id-" + Hex.encode(RandomBytes.make(8)) + ".new"
        try await io.run { try Data(text).write(to: URL(fileURLWithPath: path)) }
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await client.putObject(markKey, file: path, length: Int64(text.count), sha256: SHA256.hash(text))
        return try await recordedDatabaseID() ?? id
    }
}
