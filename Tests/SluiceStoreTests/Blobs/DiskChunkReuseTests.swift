import Foundation
import Testing
@testable import SluiceStore

/// Reads reuse a few chunk buffers instead of allocating one per chunk, and reuse never
/// changes a chunk a consumer still holds.
@Suite struct DiskChunkReuseTests {
    @Test func aConsumerThatLetsGoGetsTheSameFewBuffersBack() async throws {
        try await withTemporaryStore { blobs, _ in
            let bytes = testBytes(40 * 4096 + 100)
            let key = try await store(bytes, in: blobs)
            var addresses = Set<Int>()
            var read: [UInt8] = []
            for try await chunk in blobs.read(key, range: 0..<Int64(bytes.count), chunkSize: 4096) {
                read += chunk
                addresses.insert(chunk.withUnsafeBytes { Int(bitPattern: $0.baseAddress) })
            }
            #expect(read == bytes)
            // Three buffers in turn, plus the short last chunk.
            #expect(addresses.count <= ChunkBuffers.count + 1, "\(addresses.count) buffers for 41 chunks")
        }
    }

    @Test func chunksAConsumerKeepsAreNeverOverwritten() async throws {
        try await withTemporaryStore { blobs, _ in
            let bytes = testBytes(10 * 4096, seed: 7)
            let key = try await store(bytes, in: blobs)
            let kept = try await readAll(blobs.read(key, range: 0..<Int64(bytes.count), chunkSize: 4096))
            #expect(kept.count == 10)
            #expect(Array(kept.joined()) == bytes)
        }
    }

    /// A buffer is read into as it is made (not zeroed first): a short read leaves a chunk of
    /// exactly the bytes read, and the slot is made again at full size for the next chunk.
    @Test func aShortFirstReadGivesOnlyTheBytesRead() throws {
        var buffers = ChunkBuffers()
        let (short, shortCount) = buffers.fill(8) { buffer in
            for index in 0..<3 { buffer[index] = UInt8(index + 1) }
            return 3
        }
        #expect(shortCount == 3)
        #expect(short == [1, 2, 3])
        for _ in 1..<ChunkBuffers.count { _ = buffers.fill(8) { $0.count } }
        let (full, fullCount) = buffers.fill(8) { buffer in
            for index in 0..<buffer.count { buffer[index] = 9 }
            return buffer.count
        }
        #expect(fullCount == 8)
        #expect(full == [UInt8](repeating: 9, count: 8))
    }
}
