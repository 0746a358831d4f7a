import Foundation
import Testing
@testable import SluiceStore

@Suite struct DiskBlobMaintenanceTests {
    @Test func deleteIsIdempotent() async throws {
        try await withTemporaryStore { blobs, _ in
            let key = try await store(testBytes(10), in: blobs)
            #expect(try await blobs.contains(key))
            #expect(try await blobs.delete(key, before: .now + .seconds(60)) == .made)
            #expect(try await !blobs.contains(key))
            #expect(try await blobs.delete(key, before: .now + .seconds(60)) == .made)
            #expect(try await blobs.delete(try BlobKey(scope: "nobody", sha256: key.sha256), before: .now + .seconds(60)) == .made)
        }
    }

    /// A delete whose deadline passed before the store got to it leaves the blob (its caller's
    /// claim to delete it may have been taken over, and the bytes stored again since).
    @Test func aDeleteTooLateLeavesTheBlob() async throws {
        try await withTemporaryStore { blobs, _ in
            let key = try await store(testBytes(10), in: blobs)
            #expect(try await blobs.delete(key, before: .now - .milliseconds(1)) == .notMade)
            #expect(try await blobs.contains(key))
        }
    }

    @Test func readingAMissingBlobFailsWithNotFound() async throws {
        try await withTemporaryStore { blobs, _ in
            let key = try key(for: testBytes(10))
            #expect(try await !blobs.contains(key))
            await #expect(throws: BlobError.notFound(key)) { try await readAll(blobs.read(key, range: 0..<0, chunkSize: 10)) }
            await #expect(throws: BlobError.notFound(key)) { try await readAll(blobs.read(key, range: 0..<10, chunkSize: 10)) }
        }
    }

    /// Reads return what storage holds; verifying is the caller's job, so damage shows.
    @Test func corruptionIsNotHidden() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(1000)
            let key = try await store(bytes, in: blobs)
            var damaged = bytes
            damaged[500] ^= 0xff
            try Data(damaged).write(to: URL(fileURLWithPath: blobPath(key, root: root)))
            #expect(try await blobs.contains(key))
            #expect(try await readAll(blobs.read(key, range: 0..<1000, chunkSize: 4096)) == [damaged])
        }
    }

    @Test func truncationIsReported() async throws {
        try await withTemporaryStore { blobs, root in
            let key = try await store(testBytes(1000), in: blobs)
            let path = blobPath(key, root: root)
            var iterator = blobs.read(key, range: 0..<1000, chunkSize: 400).makeAsyncIterator()
            #expect(try await iterator.next()?.count == 400)
            #expect(truncate(path, 600) == 0)
            await #expect(throws: BlobError.truncated(key, offset: 600)) { try await iterator.next() }
            #expect(try await iterator.next() == nil)
            await #expect(throws: BlobError.rangeOutOfBounds(requested: 0..<1000, size: 600)) {
                try await readAll(blobs.read(key, range: 0..<1000, chunkSize: 400))
            }
        }
    }

    @Test func listsKeysOlderThanCutoffInPages() async throws {
        try await withTemporaryStore { blobs, root in
            var keys: [BlobKey] = []
            for index in 0..<11 {
                keys.append(try await store(testBytes(50, seed: UInt64(index)), in: blobs, scope: ["a", "a-b", "b"][index % 3]))
            }
            let old = Date().addingTimeInterval(-7200)
            for key in keys.prefix(7) {
                try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: blobPath(key, root: root))
            }
            // Names that are not the store's are never listed.
            let stray = URL(fileURLWithPath: blobPath(keys[0], root: root)).deletingLastPathComponent()
            try Data([1]).write(to: stray.appendingPathComponent("README"))
            try Data([1]).write(to: stray.appendingPathComponent(keys[1].hex.uppercased()))
            try FileManager.default.createDirectory(at: root.appendingPathComponent("blobs/Bad/00"), withIntermediateDirectories: true)

            func all(olderThan cutoff: Date, limit: Int) async throws -> [BlobKey] {
                var result: [BlobKey] = []
                while true {
                    let page = try await blobs.keys(olderThan: cutoff, after: result.last, limit: limit)
                    #expect(page.count <= limit)
                    result += page
                    if page.count < limit { return result }
                }
            }
            let sorted = keys.sorted { ($0.scope, $0.hex) < ($1.scope, $1.hex) }
            for limit in [1, 2, 3, 100] {
                #expect(try await all(olderThan: Date().addingTimeInterval(60), limit: limit) == sorted)
            }
            let olderOnes = Set(keys.prefix(7))
            #expect(try await all(olderThan: Date().addingTimeInterval(-3600), limit: 2) == sorted.filter(olderOnes.contains))
            #expect(try await blobs.keys(olderThan: Date().addingTimeInterval(-3 * 86400), after: nil, limit: 5).isEmpty)
        }
    }

    /// Abandoned staging is what no writer of this store holds: a file a stopped process (here a
    /// second store on the same root) left behind goes once older than the cutoff; this store's
    /// own writer keeps its file past any cutoff (a partition may trickle in slower than the
    /// grace period), and the sweep judges it by age again once the writer is done.
    @Test func removesAbandonedStagingOnly() async throws {
        try await withTemporaryStore { blobs, root in
            let bytes = testBytes(10)
            let staging = root.appendingPathComponent("staging")
            let stopped = try await DiskBlobStore(root: root)
            let abandoned = try await stopped.makeWriter(for: try key(for: bytes), size: 10)
            try await abandoned.write(bytes[0..<3])
            let live = try await blobs.makeWriter(for: try key(for: testBytes(10, seed: 2)), size: 10)
            try await live.write(testBytes(10, seed: 2)[0..<3])
            try Data([1]).write(to: staging.appendingPathComponent("not-ours"))
            #expect(try await blobs.removeAbandonedStaging(olderThan: Date().addingTimeInterval(-60)) == 0)
            #expect(files(under: staging).count == 3)
            #expect(try await blobs.removeAbandonedStaging(olderThan: Date().addingTimeInterval(60)) == 1)
            #expect(files(under: staging).count == 2)
            // The writer whose staging was taken cannot publish; the live one can.
            try await abandoned.write(bytes[3...])
            await #expect(throws: BlobError.self) { try await abandoned.finish() }
            #expect(try await !blobs.contains(try key(for: bytes)))
            try await live.write(testBytes(10, seed: 2)[3...])
            try await live.finish()
            #expect(try await blobs.contains(try key(for: testBytes(10, seed: 2))))
            #expect(files(under: staging) == ["not-ours"])
        }
    }

    @Test func reopensAnExistingRoot() async throws {
        try await withTemporaryStore { blobs, root in
            let key = try await store(testBytes(10), in: blobs)
            let again = try await DiskBlobStore(root: root)
            #expect(try await again.contains(key))
            #expect(try await again.keys(olderThan: Date().addingTimeInterval(60), after: nil, limit: 10) == [key])
        }
    }
}
