import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import Testing

/// Deletes that keep the versions (delete markers): the object has no current version, its
/// versions stay readable and restorable, and their bytes stay until a delete for good.
@Suite(.timeLimit(.minutes(5))) struct KeepVersionsDeleteTests {
    @Test func keepVersionsHidesTheObjectAndKeepsItsVersions() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let first = sampleBytes(100, seed: 1)
            try await harness.storage.upload("k", first, by: alice)
            try await harness.storage.upload("k", sampleBytes(50, seed: 2), by: alice)
            try await harness.storage.upload("other", sampleBytes(10, seed: 3), by: alice)

            #expect(try await objects.delete("k", of: alice, keepVersions: true) == 0)
            await expectStorageError(.notFound, mentioning: ["'k'"]) { try await objects.version("k", 0, of: alice) }
            await expectStorageError(.notFound) { try await objects.partition(0, of: "k", version: 0, principal: alice) }
            let listing = try await objects.list(prefix: "", delimiter: "", principal: alice, pageSize: 10, pageToken: "")
            #expect(listing.objects.map(\.name) == ["other"])
            let kept = try await objects.versions(of: "k", principal: alice, pageSize: 10, pageToken: "")
            #expect(kept.versions.map(\.version) == [2, 1])
            #expect(kept.versions.map(\.isCurrent) == [false, false])
            #expect(try await harness.storage.read(try await objects.version("k", 1, of: alice)) == first)
            await expectStorageError(.notFound, mentioning: ["keep_versions"]) {
                try await objects.delete("k", of: alice, keepVersions: true)
            }

            let restored = try await objects.restore("k", version: 1, of: alice)
            #expect(restored.version == 3 && restored.isCurrent && restored.restoredFrom == 1)
            #expect(try await objects.version("k", 0, of: alice) == restored)
        }
    }

    @Test func keptVersionsHoldTheirBytesUntilADeleteForGood() async throws {
        try await StorageHarness.with(limits: CollectorTests.eager) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let version = try await storage.upload("k", sampleBytes(1500, seed: 4), partitionSize: 1000, by: alice)
            _ = try await storage.collector.collect()
            let files = harness.blobFiles()
            #expect(files.count == 2)

            _ = try await storage.objects.delete("k", of: alice, keepVersions: true)
            _ = try await storage.collector.collect()
            #expect(harness.blobFiles() == files)
            #expect(try await storage.read(version) == sampleBytes(1500, seed: 4))

            #expect(try await storage.objects.delete("k", of: alice) == 1)
            _ = try await storage.collector.collect()
            #expect(harness.blobFiles().isEmpty)
        }
    }
}
