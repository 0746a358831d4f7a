import Foundation
import SluiceStore
import Testing

/// A version number names one version of a name for ever: an object made again after its
/// name was deleted for good carries on from the last number, so a number saved before the
/// delete never reads the new object's bytes, nor matches it in a conditional delete.
@Suite(.timeLimit(.minutes(5))) struct VersionNumberingTests {
    @Test func anObjectMadeAgainAfterADeleteForGoodCarriesOnItsNumbers() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            try await harness.storage.upload("k", sampleBytes(10, seed: 1), by: alice)
            try await harness.storage.upload("k", sampleBytes(10, seed: 2), by: alice)
            #expect(try await objects.delete("k", of: alice) == 2)

            let again = try await harness.storage.upload("k", sampleBytes(10, seed: 3), by: alice)
            #expect(again.version == 3)
            await expectStorageError(.notFound) { try await objects.version("k", 1, of: alice) }
            await expectStorageError(.failedPrecondition, mentioning: ["version 3"]) {
                try await objects.delete("k", of: alice, ifCurrentVersion: 1)
            }
            #expect(try await objects.delete("k", of: alice, ifCurrentVersion: 3) == 1)
            #expect(try await harness.storage.upload("k", sampleBytes(10, seed: 4), by: alice).version == 4)
            // Numbers belong to one owner's name: another principal's "k" starts at 1.
            #expect(try await harness.storage.upload("k", sampleBytes(10, seed: 5), by: bob).version == 1)
        }
    }
}
