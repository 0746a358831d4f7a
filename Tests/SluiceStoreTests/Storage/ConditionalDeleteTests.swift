import Foundation
import SluiceStore
import Testing

/// Deletes conditional on the current version (`if_current_version`): a client that planned a
/// delete against one version never deletes a newer one it has not seen.
@Suite(.timeLimit(.minutes(5))) struct ConditionalDeleteTests {
    @Test func theExpectedVersionIsDeletedAndAnyOtherIsRefusedWithNothingDeleted() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            try await harness.storage.upload("k", sampleBytes(100, seed: 1), by: alice)
            try await harness.storage.upload("k", sampleBytes(50, seed: 2), by: alice)

            for keepVersions in [false, true] {
                await expectStorageError(.failedPrecondition, mentioning: ["'k' is at version 2, not 1", "nothing"]) {
                    try await objects.delete("k", of: alice, keepVersions: keepVersions, ifCurrentVersion: 1)
                }
            }
            #expect(try await objects.version("k", 0, of: alice).version == 2)
            #expect(try await objects.delete("k", of: alice, keepVersions: true, ifCurrentVersion: 2) == 0)

            // Deleted with its versions kept: no version is current any more.
            await expectStorageError(.failedPrecondition, mentioning: ["no current version", "not 2"]) {
                try await objects.delete("k", of: alice, ifCurrentVersion: 2)
            }
            #expect(try await objects.versions(of: "k", principal: alice, pageSize: 10, pageToken: "").versions.count == 2)
            #expect(try await objects.delete("k", of: alice) == 2)
        }
    }

    @Test func aDeleteForGoodOfTheExpectedVersionRemovesEveryVersion() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            try await harness.storage.upload("k", sampleBytes(100, seed: 1), by: alice)
            try await harness.storage.upload("k", sampleBytes(50, seed: 2), by: alice)
            #expect(try await objects.delete("k", of: alice, ifCurrentVersion: 2) == 2)
            await expectStorageError(.notFound) { try await objects.delete("k", of: alice, ifCurrentVersion: 2) }
        }
    }

    @Test func aNegativeVersionIsInvalid() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            try await harness.storage.upload("k", sampleBytes(10, seed: 1), by: alice)
            await expectStorageError(.invalidArgument, mentioning: ["if_current_version"]) {
                try await harness.storage.objects.delete("k", of: alice, ifCurrentVersion: -1)
            }
            #expect(try await harness.storage.objects.version("k", 0, of: alice).version == 1)
        }
    }

    @Test func aWriteGranteeDeletesInTheOwnersFolderOnTheSameCondition() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            _ = try await harness.storage.grants.grant(
                by: alice, to: bob.handle, scope: .prefix, path: "inbox/", access: .write)
            try await harness.storage.upload("inbox/a", sampleBytes(10, seed: 1), by: alice)
            try await harness.storage.upload("inbox/a", sampleBytes(20, seed: 2), by: alice)

            await expectStorageError(.failedPrecondition, mentioning: ["'inbox/a' is at version 2, not 1"]) {
                try await objects.delete("inbox/a", of: bob, owner: alice, keepVersions: true, ifCurrentVersion: 1)
            }
            #expect(try await objects.delete("inbox/a", of: bob, owner: alice, keepVersions: true, ifCurrentVersion: 2) == 0)
            await expectStorageError(.notFound) { try await objects.version("inbox/a", 0, of: alice) }
        }
    }
}
