import Foundation
import Testing
@testable import SluiceStore

@Suite struct DiskBlobConcurrencyTests {
    @Test func concurrentWritersOfOneKeyAllSucceed() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(300_000, seed: 5)
            let key = try key(for: bytes)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask { try await store(bytes, in: blobs, pieces: [7_000 + writer * 1_111]) }
                }
                try await group.waitForAll()
            }
            #expect(files(under: root) == ["blobs/alice/\(key.hex.prefix(2))/\(key.hex)", "layout"])
            #expect(try await readAll(blobs.read(key, range: 0..<300_000, chunkSize: 65_536)).flatMap { $0 } == bytes)
        }
    }

    @Test func concurrentWritersOfManyKeysShareDirectories() async throws {
        try await withTemporaryStore { blobs, root in
            let contents = (0..<64).map { testBytes(1000 + $0, seed: UInt64($0)) }
            let keys = try await withThrowingTaskGroup(of: BlobKey.self) { group in
                for bytes in contents { group.addTask { try await store(bytes, in: blobs, scope: "s\(bytes.count % 3)") } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(files(under: root.appendingPathComponent("blobs")).count == 64)
            #expect(files(under: root.appendingPathComponent("staging")).isEmpty)
            for key in keys { #expect(try await blobs.contains(key)) }
        }
    }
}
