import Foundation
import SluicePostgres
@testable import SluiceStore
import Testing

/// A delete for good racing a commit or a restore of the same name: version numbers are never
/// used twice, and a restore that happened never answers that it did not.
@Suite(.timeLimit(.minutes(5))) struct DeleteRaceTests {
    /// The commit's insert of a new object row waited for a delete for good that retired the
    /// name's numbers; its first number came from a snapshot taken before that delete, so it
    /// used version 1 again (the delete is held at its COMMIT by a deferred trigger, so that
    /// the commit meets its deleted row).
    @Test func aCommitWaitingForADeleteCarriesOnTheRetiredNumbers() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            for seed in 1...2 { try await harness.storage.upload("raced", sampleBytes(100, seed: UInt64(seed)), by: alice) }
            let bytes = sampleBytes(3000, seed: 3)
            let session = try await harness.storage.sessions.create(declaration("raced", bytes, partitionSize: 1000), by: alice)
            try await harness.storage.storeAll(bytes, partitionSize: 1000, in: session.id, by: alice)
            try await harness.holdCommits(inserting: "retired_names", on: 4143)
            let lock = await HeldAdvisoryLock.take(4143, in: harness)
            let delete = Task { try await harness.storage.objects.delete("raced", of: alice) }
            try await harness.waitUntilAdvisoryLockIsAwaited(4143)  // deleted and retired, not committed
            let commit = Task {
                try await harness.storage.sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            }
            try await Task.sleep(for: .milliseconds(300))  // the commit meets the deleted row and waits
            try await lock.release()
            #expect(try await delete.value == 2)
            let made = try await commit.value
            #expect(made.version == 3)
            #expect(try await harness.storage.upload("raced", bytes, partitionSize: 1000, by: alice).version == 4)
        }
    }

    /// Restores racing deletes for good: a restore answers its version, or NOT_FOUND only when
    /// it made none (the change feed has no version it made).
    @Test func aRestoreThatHappenedAnswersItsVersion() async throws {
        try await StorageHarness.with { harness in
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            for round in 0..<60 {
                let name = "restored-\(round)"
                for seed in 1...2 { try await harness.storage.upload(name, sampleBytes(100, seed: UInt64(seed)), by: alice) }
                let restore = Task { try await objects.restore(name, version: 1, of: alice) }
                let destroyed = try await objects.delete(name, of: alice)
                let restored = await restore.result
                let versionsCreated = try await harness.storage.changes.read(
                    after: ChangeCursor(position: 0), for: alice, owner: "", prefix: name, limit: 100
                ).changes.filter { $0.name == name && $0.kind == .versionCreated }.count
                switch restored {
                case .success(let version):
                    #expect(version.version == 3 && versionsCreated == 3 && destroyed == 3)
                case .failure(let error):
                    #expect((error as? StorageError)?.kind == .notFound)
                    #expect(versionsCreated == 2 && destroyed == 2, "a restore that made version 3 answered \(error)")
                }
            }
        }
    }
}
