import Foundation
import SluiceOpenSSL

/// The disk store's mark: `PATH/database-id`, one line, written durably by the first instance.
extension DiskBlobStore: BlobStoreMarking {
    private var markPath: String { layout.root + "/database-id" }

    public func recordedDatabaseID() async throws -> String? {
        let path = markPath
        return try await io.run { try Self.readMark(path) }
    }

    public func recordDatabaseID(_ id: String) async throws -> String {
        let path = markPath
        let temporarySuffix = Hex.encode(RandomBytes.make(8)) + ".new"
        return try await io.run {
            if try POSIX.createFileDurably(path, with: id + "\n", temporarySuffix: temporarySuffix) { return id }
            return try Self.readMark(path) ?? ""
        }
    }

    private static func readMark(_ path: String) throws -> String? {
        try POSIX.readSmallFile(path, limit: 256)?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
