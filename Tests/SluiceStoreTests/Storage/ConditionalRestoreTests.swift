import Foundation
import SluiceStore
import Testing

/// Restores conditional on the current version (`if_current_version`): a restore retried after
/// its answer was lost is refused instead of making a second identical version.
@Suite struct ConditionalRestoreTests {
    @Test func aRetriedRestoreIsRefusedAndMakesNoSecondVersion() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            try await harness.storage.upload("k", sampleBytes(100, seed: 1), by: alice)
            try await harness.storage.upload("k", sampleBytes(50, seed: 2), by: alice)

            let restored = try await objects.restore("k", version: 1, of: alice, ifCurrentVersion: 2)
            #expect(restored.version == 3 && restored.restoredFrom == 1)
            await expectStorageError(.failedPrecondition, mentioning: ["'k' is at version 3, not 2", "nothing was restored"]) {
                try await objects.restore("k", version: 1, of: alice, ifCurrentVersion: 2)
            }
            let versions = try await objects.versions(of: "k", principal: alice, pageSize: 10, pageToken: "").versions
            #expect(versions.map(\.version) == [3, 2, 1])
        }
    }

    @Test func aKeptVersionsObjectHasNoCurrentVersionToMatch() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            try await harness.storage.upload("k", sampleBytes(100, seed: 1), by: alice)
            _ = try await objects.delete("k", of: alice, keepVersions: true)
            await expectStorageError(.failedPrecondition, mentioning: ["has no current version", "not 1"]) {
                try await objects.restore("k", version: 1, of: alice, ifCurrentVersion: 1)
            }
            #expect(try await objects.restore("k", version: 1, of: alice).version == 2)
        }
    }

    @Test func aNegativeVersionIsInvalidAndTheConditionNeedsWriteAccess() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            try await harness.storage.upload("docs/k", sampleBytes(10, seed: 1), by: alice)
            await expectStorageError(.invalidArgument, mentioning: ["if_current_version"]) {
                try await objects.restore("docs/k", version: 1, of: alice, ifCurrentVersion: -1)
            }
            _ = try await harness.storage.grants.grant(by: alice, to: bob.handle, scope: .prefix, path: "docs/", access: .read)
            await expectStorageError(.permissionDenied) {
                try await objects.restore("docs/k", version: 1, of: bob, owner: alice, ifCurrentVersion: 2)
            }
            #expect(try await objects.version("docs/k", 0, of: alice).version == 1)
        }
    }
}
