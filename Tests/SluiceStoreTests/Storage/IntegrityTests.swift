import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import Synchronization
import Testing

/// Stored bytes checked on the way out and at commit, and the scrubber.
@Suite(.timeLimit(.minutes(5))) struct IntegrityTests {
    /// The absolute path of the blob file holding `partition`.
    private func path(_ harness: StorageHarness, scope: String, _ partition: [UInt8]) -> String {
        harness.blobRoot.appendingPathComponent("blobs")
            .appendingPathComponent(harness.blobFile(scope: scope, sha256: SHA256.hash(partition))).path
    }

    /// Flips one byte of the blob file holding `partition`.
    private func damage(_ harness: StorageHarness, scope: String, _ partition: [UInt8]) throws {
        let path = path(harness, scope: scope, partition)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(partition.count / 2))
        let byte = try #require(try handle.read(upToCount: 1)?.first)
        try handle.seek(toOffset: UInt64(partition.count / 2))
        try handle.write(contentsOf: [byte ^ 1])
    }

    private func scope(of harness: StorageHarness) async throws -> String {
        try await harness.sql("SELECT scope FROM blobs LIMIT 1").rows.first?.string("scope") ?? ""
    }

    /// A commit reads no payload: a blob damaged after its upload still commits, and the
    /// damage is caught where it always is — the next whole-partition read (recorded), or the
    /// scrubber; storing the same bytes again repairs it.
    @Test func aCommitReadsNoBytesDamageIsCaughtAtTheNextReadAndAResendRepairsIt() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(700, seed: 5)
            let session = try await sessions.create(declaration("one", bytes, partitionSize: 1000), by: alice)
            _ = try await sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(bytes))
            try damage(harness, scope: try await scope(of: harness), bytes)
            let version = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            #expect(version.sha256 == SHA256.hash(bytes))
            await expectStorageError(.dataLoss, mentioning: ["partition 0"]) {
                let bytes = try ObjectBytes(
                    version, range: 0..<version.size, blobs: harness.storage.blobs, chunkSize: 256,
                    ledger: harness.storage.damage)
                for try await _ in bytes {}
            }
            #expect(try await harness.sql("SELECT detected_by FROM damaged_blobs").rows.count == 1)
            let again = try await sessions.create(declaration("again", bytes, partitionSize: 1000), by: alice)
            let resent = try await sessions.storePartition(0, of: again.id, by: alice, chunks: ChunkSequence(bytes))
            #expect(!resent.alreadyStored)
            #expect(try await harness.sql("SELECT detected_by FROM damaged_blobs").rows.isEmpty)
            #expect(try await harness.storage.read(version) == bytes)
        }
    }

    @Test func wholePartitionReadsEndWithDataLossBeforeTheLastChunk() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(3000, seed: 6)
            let partitions = cut(bytes, partitionSize: 1000)
            let session = try await sessions.create(declaration("rot", bytes, partitionSize: 1000), by: alice)
            for (index, partition) in partitions.enumerated() {
                _ = try await sessions.storePartition(index, of: session.id, by: alice, chunks: ChunkSequence(partition))
            }
            let version = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            try damage(harness, scope: try await scope(of: harness), partitions[1])

            var served: [UInt8] = []
            await expectStorageError(.dataLoss, mentioning: ["partition 1 of 'rot'"]) {
                for try await chunk in try ObjectBytes(version, range: 0..<3000, blobs: harness.blobs, chunkSize: 100) {
                    served += chunk
                }
            }
            // All of partition 0 and all but the held-back last chunk of partition 1.
            #expect(served.count == 1000 + 900)
            #expect(Array(served.prefix(1000)) == partitions[0])

            // A range that cuts partition 1 is served as stored; one that skips it is intact.
            var partial: [UInt8] = []
            for try await chunk in try ObjectBytes(version, range: 1500..<1600, blobs: harness.blobs, chunkSize: 100) {
                partial += chunk
            }
            #expect(partial.count == 100)
            var last: [UInt8] = []
            for try await chunk in try ObjectBytes(version, range: 2000..<3000, blobs: harness.blobs, chunkSize: 64) {
                last += chunk
            }
            #expect(last == partitions[2])
        }
    }

    @Test func theScrubberRecordsDamagedAndMissingBlobsAndForgetsRepairedOnes() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(2000, seed: 7)
            let partitions = cut(bytes, partitionSize: 1000)
            let session = try await sessions.create(declaration("scrub", bytes, partitionSize: 1000), by: alice)
            for (index, partition) in partitions.enumerated() {
                _ = try await sessions.storePartition(index, of: session.id, by: alice, chunks: ChunkSequence(partition))
            }
            _ = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            let scrubber = Scrubber(database: harness.pool, blobs: harness.blobs, bytesPerSecond: 0)
            var report = try await scrubber.scrub()
            #expect(report.checkedBlobs == 2 && report.checkedBytes == 2000 && report.damagedBlobs == 0)

            let scope = try await scope(of: harness)
            try damage(harness, scope: scope, partitions[0])
            try FileManager.default.removeItem(atPath: path(harness, scope: scope, partitions[1]))
            let found = FindingLog()
            report = try await scrubber.scrub { found.append("\($0)") }
            #expect(report.damagedBlobs == 1 && report.missingBlobs == 1)
            #expect(found.all.count == 2)
            #expect(try await harness.sql("SELECT 1 FROM damaged_blobs").rows.count == 2)

            // Uploading the same bytes again (another session) rewrites both blobs.
            let again = try await sessions.create(declaration("scrub-again", bytes, partitionSize: 1000), by: alice)
            for (index, partition) in partitions.enumerated() {
                _ = try await sessions.storePartition(index, of: again.id, by: alice, chunks: ChunkSequence(partition))
            }
            #expect(try await harness.sql("SELECT 1 FROM damaged_blobs").rows.isEmpty)
            report = try await scrubber.scrub()
            #expect(report.damagedBlobs == 0 && report.missingBlobs == 0)
        }
    }
}

/// Findings reported by a scrub pass, collected across its callback.
private final class FindingLog: Sendable {
    private let items = Mutex<[String]>([])
    func append(_ item: String) { items.withLock { $0.append(item) } }
    var all: [String] { items.withLock { $0 } }
}
