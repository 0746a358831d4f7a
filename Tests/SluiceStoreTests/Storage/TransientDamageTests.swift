import Foundation
import SluiceOpenSSL
import SluiceStore
import Synchronization
import Testing

/// A finding about bytes damaged on their way from storage, not in it (an S3 GET whose body
/// was corrupted in transit): the read that saw them ends DATA_LOSS and records the finding,
/// and the next whole read, finding the bytes intact, clears it, so the blob counts as held
/// again. Bytes damaged in storage stay recorded however often they are read.
@Suite struct TransientDamageTests {
    private func readAll(_ name: String, of alice: Principal, from blobs: any BlobStore, _ harness: StorageHarness)
        async throws -> [UInt8]
    {
        let version = try await harness.storage.objects.version(name, nil, of: alice)
        var bytes: [UInt8] = []
        for try await chunk in try ObjectBytes(
            version, range: 0..<version.size, blobs: blobs, chunkSize: 256, ledger: harness.storage.damage) {
            bytes += chunk
        }
        return bytes
    }

    private func findings(_ harness: StorageHarness) async throws -> Int {
        try await harness.sql("SELECT 1 FROM damaged_blobs").rows.count
    }

    @Test func anIntactWholeReadClearsAFindingFromBytesDamagedInTransit() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(2000, seed: 41)
            _ = try await storage.upload("flaky", bytes, partitionSize: 1000, by: alice)

            let lying = FlipsTheFirstRead(harness.blobs)
            await expectStorageError(.dataLoss, mentioning: ["partition 0 of 'flaky' version 1"]) {
                _ = try await readAll("flaky", of: alice, from: lying, harness)
            }
            #expect(try await findings(harness) == 1)
            let held = try await storage.sessions.create(declaration("copy", bytes, partitionSize: 1000), by: alice)
            #expect(held.storedPartitions == [1], "a blob with a finding is not offered for deduplication")

            #expect(try await readAll("flaky", of: alice, from: lying, harness) == bytes)
            #expect(try await findings(harness) == 0)
            let again = try await storage.sessions.create(declaration("copy2", bytes, partitionSize: 1000), by: alice)
            #expect(again.storedPartitions == [0, 1])
        }
    }

    @Test func bytesDamagedInStorageStayRecordedUntilRewritten() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 42)
            let version = try await storage.upload("rotten", bytes, partitionSize: 1000, by: alice)
            let partition = version.partitions[0]
            let path = harness.blobRoot.appendingPathComponent("blobs")
                .appendingPathComponent(harness.blobFile(scope: partition.blobScope, sha256: partition.sha256)).path
            var stored = try #require(FileManager.default.contents(atPath: path))
            stored[500] ^= 1
            try stored.write(to: URL(fileURLWithPath: path))

            for _ in 0..<2 {
                await expectStorageError(.dataLoss, mentioning: ["partition 0 of 'rotten' version 1"]) {
                    _ = try await readAll("rotten", of: alice, from: harness.blobs, harness)
                }
                #expect(try await findings(harness) == 1)
            }
            let resend = try await storage.sessions.create(declaration("resend", bytes, partitionSize: 1000), by: alice)
            #expect(resend.storedPartitions.isEmpty)
            _ = try await storage.sessions.storePartition(0, of: resend.id, by: alice, chunks: ChunkSequence(bytes))
            #expect(try await findings(harness) == 0)
            #expect(try await readAll("rotten", of: alice, from: harness.blobs, harness) == bytes)
        }
    }
}

/// A blob store whose very first read gets one bit flipped on its way, as by an S3 GET whose
/// body was corrupted in transit; what it stores stays intact, and later reads are honest.
private struct FlipsTheFirstRead: BlobStore {
    let store: any BlobStore
    private let flipped = FlipOnce()

    init(_ store: any BlobStore) {
        self.store = store
    }

    func makeWriter(for key: BlobKey, size: Int64) async throws -> any BlobWriter {
        try await store.makeWriter(for: key, size: size)
    }

    func contains(_ key: BlobKey) async throws -> Bool { try await store.contains(key) }

    func read(_ key: BlobKey, range: Range<Int64>, chunkSize: Int) -> BlobChunks {
        let (store, flipped) = (store, flipped)
        return BlobChunks {
            FlippingReader(store.read(key, range: range, chunkSize: chunkSize).makeAsyncIterator(), flip: flipped.take())
        }
    }

    func delete(_ key: BlobKey, before deadline: ContinuousClock.Instant) async throws -> BlobDeletion {
        try await store.delete(key, before: deadline)
    }

    func keys(olderThan cutoff: Date, after: BlobKey?, limit: Int) async throws -> [BlobKey] {
        try await store.keys(olderThan: cutoff, after: after, limit: limit)
    }

    func removeAbandonedStaging(olderThan cutoff: Date) async throws -> Int {
        try await store.removeAbandonedStaging(olderThan: cutoff)
    }
}

/// True exactly once.
private final class FlipOnce: Sendable {
    private let done = Mutex(false)

    func take() -> Bool {
        done.withLock { done in
            defer { done = true }
            return !done
        }
    }
}

/// Passes a read's chunks on, the first with its first bit flipped when `flip` says so.
// Safe because one consumer at a time pulls a reader's chunks, as every BlobChunks reader is used.
private final class FlippingReader: BlobChunkReader, @unchecked Sendable {
    private var chunks: BlobChunks.Iterator
    private var flip: Bool

    init(_ chunks: BlobChunks.Iterator, flip: Bool) {
        self.chunks = chunks
        self.flip = flip
    }

    func nextChunk() async throws -> [UInt8]? {
        guard var chunk = try await chunks.next() else { return nil }
        if flip {
            chunk[0] ^= 1
            flip = false
        }
        return chunk
    }
}
