import Foundation
import SluiceStore
import Testing

/// Sessions a WRITE grantee opens into the owner's folder reserve the owner's quotas, so the
/// owner sees them (listing, usage), may abort them, and a grant change that takes away the
/// grantee's write access aborts them at once.
@Suite(.timeLimit(.minutes(5))) struct GranteeSessionTests {
    /// A 10,000-byte quota for everyone.
    static var quota: StorageLimits {
        var limits = StorageLimits()
        limits.maxStoredBytesPerPrincipal = 10_000
        return limits
    }

    /// alice (the owner), bob (her WRITE grantee on `inbox/`) and bob's session into
    /// `inbox/big`, declaring 9,000 bytes and storing one partition (so it is not empty).
    struct World {
        let harness: StorageHarness
        let alice: Principal
        let bob: Principal
        let session: SessionRecord

        init(_ harness: StorageHarness) async throws {
            self.harness = harness
            alice = try await harness.principal("CN=alice")
            bob = try await harness.principal("CN=bob")
            _ = try await harness.storage.grants.grant(
                by: alice, to: bob.handle, scope: .prefix, path: "inbox/", access: .write)
            let bytes = sampleBytes(9000, seed: 7)
            session = try await harness.storage.sessions.create(
                declaration("inbox/big", bytes, partitionSize: 1000), by: bob, owner: alice)
            _ = try await harness.storage.sessions.storePartition(
                8, of: session.id, by: bob, chunks: ChunkSequence(Array(bytes.suffix(1000))))
        }

        func state(of id: SessionID) async throws -> SessionRecord.State {
            try await harness.storage.sessions.get(id, of: bob).state
        }

        /// alice's own upload of 2,000 bytes: it fits only once bob's reservation is gone.
        func aliceUploads() async throws {
            try await harness.storage.upload("mine", sampleBytes(2000, seed: 8), by: alice)
        }
    }

    @Test func revokingAbortsTheGranteesSessionsAndFreesTheOwnersQuota() async throws {
        try await StorageHarness.with(limits: Self.quota) { harness in
            let world = try await World(harness)
            await expectStorageError(.resourceExhausted, mentioning: ["byte quota"]) { try await world.aliceUploads() }

            _ = try await harness.storage.grants.revoke(
                by: world.alice, from: world.bob.handle, scope: .prefix, path: "inbox/")
            #expect(try await world.state(of: world.session.id) == .aborted)
            #expect(try await harness.storage.usage.report(for: world.alice, days: 1).reservedBytes == 0)
            try await world.aliceUploads()
        }
    }

    @Test func loweringToReadAbortsOnlyWhatNoOtherGrantLetsTheGranteeWrite() async throws {
        try await StorageHarness.with(limits: Self.quota) { harness in
            let world = try await World(harness)
            let (alice, bob) = (world.alice, world.bob)
            let grants = harness.storage.grants
            // A second session, under an object grant that stays WRITE.
            _ = try await grants.grant(by: alice, to: bob.handle, scope: .object, path: "inbox/kept", access: .write)
            let kept = try await harness.storage.sessions.create(
                declaration("inbox/kept", sampleBytes(10, seed: 9), partitionSize: 10), by: bob, owner: alice)

            _ = try await grants.grant(by: alice, to: bob.handle, scope: .prefix, path: "inbox/", access: .read)
            #expect(try await world.state(of: world.session.id) == .aborted)
            #expect(try await world.state(of: kept.id) == .open)
            // Re-granting what is already there aborts nothing.
            _ = try await grants.grant(by: alice, to: bob.handle, scope: .object, path: "inbox/kept", access: .write)
            #expect(try await world.state(of: kept.id) == .open)
            try await world.aliceUploads()
        }
    }

    @Test func theOwnerListsGetsAndAbortsTheGranteesSessions() async throws {
        try await StorageHarness.with(limits: Self.quota) { harness in
            let world = try await World(harness)
            let sessions = harness.storage.sessions
            let (alice, bob) = (world.alice, world.bob)
            let carol = try await harness.principal("CN=carol")

            let listed = try await sessions.list(of: alice, pageSize: 0, pageToken: "", openOnly: true).sessions
            #expect(listed.map(\.id) == [world.session.id])
            #expect(listed.first?.ownerHandle == alice.handle)
            #expect(try await sessions.get(world.session.id, of: alice).state == .open)
            // The grantee still lists its own session; nobody else finds it.
            #expect(try await sessions.list(of: bob, pageSize: 0, pageToken: "", openOnly: true).sessions.map(\.id)
                == [world.session.id])
            await expectStorageError(.notFound) { try await sessions.get(world.session.id, of: carol) }
            await expectStorageError(.notFound) { try await sessions.abort(world.session.id, of: carol) }

            #expect(try await sessions.abort(world.session.id, of: alice).state == .aborted)
            #expect(try await world.state(of: world.session.id) == .aborted)
            try await world.aliceUploads()
        }
    }

    /// The owner may neither store partitions of a grantee's session nor commit it, and hears
    /// the same whatever the session's progress: missing partitions, complete, committed by the
    /// grantee, or aborted. Anyone else finds no such session.
    @Test func theOwnerCannotStorePartitionsOfNorCommitTheGranteesSessionWhateverItsState() async throws {
        try await StorageHarness.with(limits: Self.quota) { harness in
            let world = try await World(harness)
            let sessions = harness.storage.sessions
            let (alice, bob) = (world.alice, world.bob)
            let carol = try await harness.principal("CN=carol")
            let partition = ChunkSequence(sampleBytes(10, seed: 11))
            func ownerIsRefused(_ id: SessionID, _ state: String) async {
                await expectStorageError(
                    .permissionDenied, mentioning: ["upload session", "only that principal can commit it"], state
                ) {
                    try await sessions.commit(id, by: alice, objects: harness.storage.objects)
                }
                await expectStorageError(
                    .permissionDenied, mentioning: ["upload session", "only that principal can store its partitions"],
                    state
                ) {
                    try await sessions.storePartition(0, of: id, by: alice, chunks: partition)
                }
                await expectStorageError(.notFound, state) {
                    try await sessions.storePartition(0, of: id, by: carol, chunks: partition)
                }
            }

            await ownerIsRefused(world.session.id, "missing partitions")
            let bytes = sampleBytes(10, seed: 11)
            let small = try await sessions.create(declaration("inbox/small", bytes, partitionSize: 10), by: bob, owner: alice)
            try await harness.storage.storeAll(bytes, partitionSize: 10, in: small.id, by: bob)
            await ownerIsRefused(small.id, "complete")
            #expect(try await sessions.get(small.id, of: bob).state == .open)
            #expect(try await sessions.commit(small.id, by: bob, objects: harness.storage.objects).version == 1)
            await ownerIsRefused(small.id, "committed")
            _ = try await sessions.abort(world.session.id, of: alice)
            await ownerIsRefused(world.session.id, "aborted")
        }
    }

    /// A grantee committing again a session whose version is gone is told what it is told of
    /// any version it cannot see: not whether the owner deleted the object for good.
    @Test func anExGranteeIsNotToldThatTheOwnerDeletedItsObjectForGood() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let (alice, bob) = try await harness.aliceSharingInboxWithBob()
            let bytes = sampleBytes(100, seed: 31)
            let session = try await storage.sessions.create(
                declaration("inbox/report", bytes, partitionSize: 100), by: bob, owner: alice)
            try await storage.storeAll(bytes, partitionSize: 100, in: session.id, by: bob)
            _ = try await storage.sessions.commit(session.id, by: bob, objects: storage.objects)
            _ = try await storage.grants.revoke(by: alice, from: bob.handle, scope: .prefix, path: "inbox/")
            _ = try await storage.objects.delete("inbox/report", of: alice)

            let refusal = await expectStorageError(.notFound, mentioning: ["has no version 1"]) {
                try await storage.sessions.commit(session.id, by: bob, objects: storage.objects)
            }
            #expect(refusal?.description.contains("deleted") == false)
        }
    }

    @Test func theOwnersUsageCountsTheSessionsBehindItsReservation() async throws {
        try await StorageHarness.with(limits: Self.quota) { harness in
            let world = try await World(harness)
            let owner = try await harness.storage.usage.report(for: world.alice, days: 1)
            #expect(owner.openSessions == 1 && owner.reservedBytes == 9000)
            // Said to be the grantee's, which its session quota counts, not the owner's.
            #expect(owner.granteeOpenSessions == 1)
            // The grantee's own count still holds the session it opened (it takes one of its slots).
            let grantee = try await harness.storage.usage.report(for: world.bob, days: 1)
            #expect(grantee.openSessions == 1 && grantee.reservedBytes == 0 && grantee.granteeOpenSessions == 0)
        }
    }
}
