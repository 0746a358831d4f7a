import Foundation
import Testing
@testable import SluiceStore

@Suite struct DiskBlobRoundTripTests {
    @Test(arguments: [0, 1, 4095, 4096, 4097, 3 * 4096])
    func roundTripsSmallSizes(_ size: Int) async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(size, seed: UInt64(size))
            let key = try await store(bytes, in: blobs, pieces: [1000])
            let chunks = try await readAll(blobs.read(key, range: 0..<Int64(size), chunkSize: 4096))
            #expect(chunks.flatMap { $0 } == bytes)
            #expect(chunks.allSatisfy { !$0.isEmpty && $0.count <= 4096 })
            #expect(chunks.count == (size + 4095) / 4096)
            #expect(try await blobs.contains(key))
            #expect(files(under: root.appendingPathComponent("staging")).isEmpty)
        }
    }

    @Test func roundTripsSeveralMebibytesWrittenUnevenly() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(5 * 1_048_576 + 12_345, seed: 42)
            let key = try await store(bytes, in: blobs, pieces: [1, 70_001, 1_048_576, 333, 524_289, 0])
            let chunks = try await readAll(blobs.read(key, range: 0..<Int64(bytes.count), chunkSize: 1_048_576))
            #expect(chunks.map(\.count) == [1_048_576, 1_048_576, 1_048_576, 1_048_576, 1_048_576, 12_345])
            #expect(chunks.flatMap { $0 } == bytes)
            #expect(files(under: root) == ["blobs/alice/\(key.hex.prefix(2))/\(key.hex)", "layout"])
        }
    }

    /// A blob sent as one chunk touches the disk only when it finishes (one trip to the pool for
    /// all its system calls); one sent in pieces has its staging file from the first piece; a
    /// writer aborted or dropped before any trip leaves nothing either way.
    @Test func aWholeChunkIsWrittenAtFinishAndPiecesAsTheyCome() async throws {
        try await withTemporaryStore { blobs, root in
            let staging = root.appendingPathComponent("staging")
            let bytes = testBytes(70_000, seed: 7)
            let whole = try await blobs.makeWriter(for: try key(for: bytes), size: 70_000)
            #expect(files(under: staging).isEmpty)
            try await whole.write(bytes)
            #expect(files(under: staging).isEmpty)
            try await whole.finish()
            #expect(try await blobs.contains(try key(for: bytes)))
            #expect(files(under: staging).isEmpty)

            let other = testBytes(70_000, seed: 8)
            let pieces = try await blobs.makeWriter(for: try key(for: other), size: 70_000)
            try await pieces.write(other[0..<1000])
            #expect(files(under: staging).count == 1)
            await pieces.abort()
            #expect(files(under: staging).isEmpty)

            let held = try await blobs.makeWriter(for: try key(for: other), size: 70_000)
            try await held.write(other)
            await held.abort()
            await #expect(throws: BlobError.writerClosed(try key(for: other))) { try await held.finish() }
            #expect(try await !blobs.contains(try key(for: other)))
            #expect(files(under: staging).isEmpty)
        }
    }

    @Test func publishesOwnerOnlyFileAtTheContentAddress() async throws {
        try await withTemporaryStore { blobs, root in
            let key = try await store(testBytes(100), in: blobs, scope: "p-17")
            let attributes = try FileManager.default.attributesOfItem(atPath: blobPath(key, root: root))
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            #expect((attributes[.size] as? Int) == 100)
        }
    }

    @Test func readsRanges() async throws {
        try await withTemporaryStore { blobs, _ in
            let bytes = testBytes(10_000, seed: 3)
            let key = try await store(bytes, in: blobs)
            func read(_ range: Range<Int64>) async throws -> [[UInt8]] {
                try await readAll(blobs.read(key, range: range, chunkSize: 4096))
            }
            #expect(try await read(0..<100) == [Array(bytes[0..<100])])
            #expect(try await read(4000..<9000).map(\.count) == [4096, 904])
            #expect(try await read(4000..<9000).flatMap { $0 } == Array(bytes[4000..<9000]))
            #expect(try await read(9990..<10_000) == [Array(bytes[9990...])])
            #expect(try await read(0..<0).isEmpty)
            #expect(try await read(5000..<5000).isEmpty)
            #expect(try await read(10_000..<10_000).isEmpty)
        }
    }

    @Test func rejectsRangesOutsideTheBlob() async throws {
        try await withTemporaryStore { blobs, _ in
            let key = try await store(testBytes(10), in: blobs)
            await #expect(throws: BlobError.rangeOutOfBounds(requested: 0..<11, size: 10)) {
                try await readAll(blobs.read(key, range: 0..<11, chunkSize: 4))
            }
            await #expect(throws: BlobError.rangeOutOfBounds(requested: -1..<3, size: 10)) {
                try await readAll(blobs.read(key, range: -1..<3, chunkSize: 4))
            }
            await #expect(throws: BlobError.rangeOutOfBounds(requested: 11..<11, size: 10)) {
                try await readAll(blobs.read(key, range: 11..<11, chunkSize: 4))
            }
        }
    }

    @Test func eachIterationReadsAfresh() async throws {
        try await withTemporaryStore { blobs, _ in
            let bytes = testBytes(3000)
            let key = try await store(bytes, in: blobs)
            let chunks = blobs.read(key, range: 0..<3000, chunkSize: 1024)
            #expect(try await readAll(chunks).flatMap { $0 } == bytes)
            #expect(try await readAll(chunks).flatMap { $0 } == bytes)
        }
    }

    @Test func acceptsDataAndSlices() async throws {
        try await withTemporaryStore { blobs, _ in
            let bytes = testBytes(300)
            let key = try key(for: bytes)
            let writer = try await blobs.makeWriter(for: key, size: 300)
            try await writer.write(Data(bytes[0..<100]))
            try await writer.write(bytes[100..<200])
            try await writer.write(Array(bytes[200...]))
            try await writer.finish()
            #expect(try await readAll(blobs.read(key, range: 0..<300, chunkSize: 1000)) == [bytes])
        }
    }

    @Test func keepsScopesApart() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(64)
            let alice = try await store(bytes, in: blobs, scope: "alice")
            let bob = try await store(bytes, in: blobs, scope: "bob")
            #expect(files(under: root.appendingPathComponent("blobs")).count == 2)
            #expect(try await blobs.delete(alice, before: .now + .seconds(60)) == .made)
            #expect(try await !blobs.contains(alice))
            #expect(try await blobs.contains(bob))
        }
    }
}
