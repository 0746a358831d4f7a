import Foundation
import SluiceOpenSSL
@testable import SluiceStore

/// A disk store in a fresh temporary directory, removed when `body` returns.
func withTemporaryStore(_ body: (DiskBlobStore, URL) async throws -> Void) async throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-blobs-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    let store = try await DiskBlobStore(root: root)
    try await body(store, root)
}

/// Deterministic, non-repeating test bytes (xorshift), different for each seed.
func testBytes(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

func key(for bytes: [UInt8], scope: String = "alice") throws -> BlobKey {
    try BlobKey(scope: scope, sha256: SHA256.hash(bytes))
}

/// Stores `bytes` through a writer, in pieces of the given sizes (cycled), and returns the key.
@discardableResult
func store(_ bytes: [UInt8], in store: some BlobStore, scope: String = "alice", pieces: [Int] = [65_536]) async throws -> BlobKey {
    let key = try key(for: bytes, scope: scope)
    let writer = try await store.makeWriter(for: key, size: Int64(bytes.count))
    var offset = 0
    var piece = 0
    while offset < bytes.count {
        let end = min(bytes.count, offset + pieces[piece % pieces.count])
        try await writer.write(bytes[offset..<end])
        offset = end
        piece += 1
    }
    try await writer.finish()
    return key
}

func readAll(_ chunks: BlobChunks) async throws -> [[UInt8]] {
    var result: [[UInt8]] = []
    for try await chunk in chunks { result.append(chunk) }
    return result
}

/// The regular files under a directory, as paths relative to it, sorted.
func files(under directory: URL) -> [String] {
    guard let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.isRegularFileKey]) else {
        return []
    }
    let base = directory.standardizedFileURL.path + "/"
    return enumerator.compactMap { item -> String? in
        guard let url = item as? URL, (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true else {
            return nil
        }
        return String(url.standardizedFileURL.path.dropFirst(base.count))
    }.sorted()
}

/// Where a store made by this build keeps `key`: one fan-out level.
func blobPath(_ key: BlobKey, root: URL) -> String {
    root.appendingPathComponent("blobs/\(key.scope)/\(key.hex.prefix(2))/\(key.hex)").path
}
