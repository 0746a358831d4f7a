import Foundation
import SluicePostgres
import SluiceStore
import Testing

/// A read whose bytes vanish under it: NOT_FOUND when the object was deleted (and its blobs
/// collected) meanwhile, DATA_LOSS recorded as damage when the version still exists. Neither
/// message names a blob key.
@Suite(.timeLimit(.minutes(5))) struct ReadLossTests {
    static var eager: StorageLimits {
        var limits = StorageLimits()
        limits.blobGracePeriod = .zero
        limits.closedSessionRetention = .zero
        return limits
    }

    @Test func anObjectDeletedAndCollectedWhileItIsReadEndsNotFound() async throws {
        try await StorageHarness.with(limits: Self.eager) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let version = try await storage.upload("doomed", sampleBytes(3000, seed: 31), partitionSize: 1000, by: alice)
            var iterator = try ObjectBytes(
                version, range: 0..<version.size, blobs: storage.blobs, chunkSize: 100, ledger: storage.damage
            ).makeAsyncIterator()
            #expect(try await iterator.next()?.count == 100)
            _ = try await storage.objects.delete("doomed", of: alice)
            _ = try await storage.collector.collect()
            #expect(harness.blobFiles().isEmpty)
            let error = await expectStorageError(
                .notFound, mentioning: ["object 'doomed' version 1 was deleted while it was being read"]
            ) {
                while try await iterator.next() != nil {}
            }
            for partition in version.partitions {
                #expect(error?.message.contains(hexString(partition.sha256).prefix(16)) == false)
            }
            #expect(try await harness.sql("SELECT 1 FROM damaged_blobs").rows.isEmpty)
        }
    }

    @Test func bytesMissingFromAVersionThatExistsAreDataLossAndRecorded() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let version = try await storage.upload("lost", sampleBytes(3000, seed: 32), partitionSize: 1000, by: alice)
            let missing = version.partitions[1]
            try FileManager.default.removeItem(
                at: harness.blobRoot.appendingPathComponent("blobs")
                    .appendingPathComponent(harness.blobFile(scope: missing.blobScope, sha256: missing.sha256)))
            let error = await expectStorageError(
                .dataLoss, mentioning: ["partition 1 of 'lost' version 1 is missing from storage"]
            ) {
                for try await _ in try ObjectBytes(
                    version, range: 0..<version.size, blobs: storage.blobs, chunkSize: 100, ledger: storage.damage) {}
            }
            #expect(error?.message.contains(hexString(missing.sha256).prefix(16)) == false)
            let findings = try await harness.sql("SELECT detected_by, sha256 FROM damaged_blobs").rows
            #expect(findings.count == 1)
            #expect(try findings.first?.string("detected_by") == "read")
            #expect(try findings.first?.bytes("sha256") == missing.sha256)
        }
    }
}
