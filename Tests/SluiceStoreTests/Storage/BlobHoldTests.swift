import Foundation
import SluiceDuration
import SluiceOpenSSL
import SluicePostgres
import Testing
@testable import SluiceStore

/// What keeps a blob's bytes: a partition that refers to them, or the hold of an upload of
/// them in flight (``BlobHold``), each upload its own. Bytes nothing keeps go at once when an
/// abort or a delete lets them go, and at the collector's next pass otherwise; an upload of the
/// same bytes in flight keeps them through both.
@Suite(.timeLimit(.minutes(5))) struct BlobHoldTests {
    /// Uploading a quota's worth, aborting and repeating filled the disk with bytes counted
    /// nowhere while they waited for the grace period.
    @Test func anAbortTakesItsBytesAtOnce() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage  // the default grace period: an hour
            let alice = try await harness.principal("CN=alice")
            let kept = sampleBytes(1000, seed: 45)
            let version = try await storage.upload("kept", kept, partitionSize: 1000, by: alice)
            let keptFiles = harness.blobFiles()
            // Three partitions, one of them the bytes of the committed object.
            let abandoned = sampleBytes(2000, seed: 46) + kept
            let session = try await storage.sessions.create(declaration("gone", abandoned, partitionSize: 1000), by: alice)
            try await storage.storeAll(abandoned, partitionSize: 1000, in: session.id, by: alice)
            #expect(harness.blobFiles().count == 3)

            _ = try await storage.sessions.abort(session.id, of: alice)
            #expect(harness.blobFiles() == keptFiles)
            #expect(try await harness.blobRows().count == 1)
            #expect(try await storage.read(version) == kept)
            #expect(try await harness.sql("SELECT 1 FROM blob_holds").rows.isEmpty)
        }
    }

    @Test func aDeleteTakesItsBytesAtOnceButNotThoseAnotherVersionUses() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let shared = sampleBytes(1000, seed: 47)
            let other = try await storage.upload("other", shared, partitionSize: 1000, by: alice)
            let keptFiles = harness.blobFiles()
            _ = try await storage.upload("doomed", sampleBytes(1000, seed: 48), partitionSize: 1000, by: alice)
            _ = try await storage.upload("doomed", shared + sampleBytes(500, seed: 49), partitionSize: 1000, by: alice)
            #expect(harness.blobFiles().count == 3)

            #expect(try await storage.objects.delete("doomed", of: alice) == 2)
            #expect(harness.blobFiles() == keptFiles)
            #expect(try await storage.read(other) == shared)
        }
    }

    /// Two sessions of the same owner upload the same bytes; one is aborted while the other's
    /// upload of them is in flight. The abort must leave them: that upload will refer to them.
    @Test func anAbortLeavesTheBytesOfAnUploadInFlight() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 50)
            let first = try await storage.sessions.create(declaration("first", bytes, partitionSize: 1000), by: alice)
            _ = try await storage.sessions.storePartition(0, of: first.id, by: alice, chunks: ChunkSequence(bytes))
            let second = try await storage.sessions.create(
                declaration("second", bytes, partitionSize: 1000), by: alice)
            let gate = Gate()
            let upload = Task {
                try await storage.sessions.storePartition(
                    0, of: second.id, by: alice, chunks: ChunkSequence(bytes, pieceSize: 100, gate: gate))
            }
            await gate.firstPieceTaken.wait()
            _ = try await storage.sessions.abort(first.id, of: alice)
            #expect(try await storage.collector.collect().deletedBlobs == 0)
            #expect(harness.blobFiles().count == 1)
            gate.proceed.open()
            _ = try await upload.value
            let version = try await storage.sessions.commit(second.id, by: alice, objects: storage.objects)
            #expect(try await storage.read(version) == bytes)
            #expect(try await harness.sql("SELECT 1 FROM blob_holds").rows.isEmpty)
        }
    }

    /// A session aborted while a partition's bytes were still arriving: the upload fails when
    /// it would record them, and gives them back at once rather than leave them, counted
    /// nowhere, for the collector.
    @Test func bytesArrivingForASessionAbortedMeanwhileGoAtOnce() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 53)
            let session = try await storage.sessions.create(declaration("late", bytes, partitionSize: 1000), by: alice)
            let gate = Gate()
            let upload = Task {
                try await storage.sessions.storePartition(
                    0, of: session.id, by: alice, chunks: ChunkSequence(bytes, pieceSize: 100, gate: gate))
            }
            await gate.firstPieceTaken.wait()
            _ = try await storage.sessions.abort(session.id, of: alice)
            gate.proceed.open()
            await expectStorageError(.failedPrecondition, mentioning: ["aborted"]) { try await upload.value }
            #expect(harness.blobFiles().isEmpty)
            #expect(try await harness.blobRows().isEmpty)
        }
    }

    /// A reclaimer takes over a row another one marked only once that one's claim is old enough
    /// that it must have stopped (``BlobReclaimer/takeoverAfter``), and forgets a row only under
    /// its own claim: two deleting the same bytes at once, the first would otherwise drop the row
    /// while the second's DELETE was on its way, taking the bytes of an upload made in between.
    @Test func aRowAnotherReclaimerIsDeletingIsLeftToIt() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 54)
            try await storage.upload("doomed", bytes, partitionSize: 1000, by: alice)
            try await harness.holdEveryBlob()
            _ = try await storage.objects.delete("doomed", of: alice)
            // Another reclaimer marked it a moment ago and is deleting its bytes.
            _ = try await harness.sql("UPDATE blobs SET deleting = true, reclaim_claim = 42, claimed_at = now()")
            #expect(try await storage.collector.collect().deletedBlobs == 0)
            #expect(harness.blobFiles().count == 1)
            #expect(try await harness.blobRows().count == 1)

            let key = try BlobKey(scope: "p\(alice.id)", sha256: SHA256.hash(bytes))
            let reclaimer = BlobReclaimer(database: harness.pool, blobs: storage.blobs, limits: storage.limits)
            try await reclaimer.forget([.init(key: key, markedBefore: false, claim: 7)])
            #expect(try await harness.blobRows().count == 1, "a reclaimer forgot a row claimed by another")

            // That reclaimer stopped halfway: once its claim is old enough, the row is taken over.
            _ = try await harness.sql(
                "UPDATE blobs SET claimed_at = now() - make_interval(secs => $1)",
                [.double(reclaimer.takeoverAfter.inSeconds + 1)])
            #expect(try await storage.collector.collect().deletedBlobs == 1)
            #expect(harness.blobFiles().isEmpty)
            #expect(try await harness.blobRows().isEmpty)
        }
    }

    /// Revoking a grant, or lowering it to READ, aborts the grantee's sessions it leaves without
    /// write access, and an administrator aborts a principal's sessions: each takes their bytes
    /// at once, as AbortSession does (left to the collector, a grantee with a second certificate
    /// could fill the owner's disk past its quota, ten times over in a second).
    @Test func sessionsAbortedByARevokeOrAnAdministratorTakeTheirBytesAtOnce() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let (alice, bob) = try await harness.aliceSharingInboxWithBob()
            func bobStores(_ name: String, seed: UInt64) async throws {
                let bytes = sampleBytes(1000, seed: seed)
                let session = try await storage.sessions.create(
                    declaration(name, bytes, partitionSize: 1000), by: bob, owner: alice)
                _ = try await storage.sessions.storePartition(0, of: session.id, by: bob, chunks: ChunkSequence(bytes))
                #expect(harness.blobFiles().count == 1)
            }
            try await bobStores("inbox/a", seed: 55)
            _ = try await storage.grants.grant(by: alice, to: bob.handle, scope: .prefix, path: "inbox/", access: .read)
            #expect(harness.blobFiles().isEmpty, "lowering the grant to READ left the bytes of the session it aborted")

            _ = try await storage.grants.grant(by: alice, to: bob.handle, scope: .prefix, path: "inbox/", access: .write)
            try await bobStores("inbox/b", seed: 56)
            _ = try await storage.grants.revoke(by: alice, from: bob.handle, scope: .prefix, path: "inbox/")
            #expect(harness.blobFiles().isEmpty, "the revoke left the bytes of the session it aborted")

            _ = try await storage.grants.grant(by: alice, to: bob.handle, scope: .prefix, path: "inbox/", access: .write)
            try await bobStores("inbox/c", seed: 57)
            #expect(try await storage.administration.abortSessions(handle: alice.handle) == 1)
            #expect(harness.blobFiles().isEmpty, "the administrator's abort left the bytes of the session")
            #expect(try await harness.blobRows().isEmpty)
        }
    }

    /// One blob whose delete fails stops none of the others in its batch: they are deleted and
    /// forgotten, and the failed one gives its claim up at once (for the next pass, not after
    /// the takeover wait). Before, the whole batch stayed marked, refusing uploads of every
    /// one of its blobs' bytes for as long as that one kept failing.
    @Test func aBlobWhoseDeleteFailsHoldsUpNoOtherInItsBatch() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(3000, seed: 59)
            let session = try await storage.sessions.create(declaration("stuck", bytes, partitionSize: 1000), by: alice)
            try await storage.storeAll(bytes, partitionSize: 1000, in: session.id, by: alice)
            // The middle blob's file becomes a folder with a file in it: unlinking it fails.
            let stuck = SHA256.hash(Array(bytes[1000..<2000]))
            let path = harness.blobRoot.appendingPathComponent("blobs")
                .appendingPathComponent(harness.blobFile(scope: "p\(alice.id)", sha256: stuck))
            try FileManager.default.removeItem(at: path)
            try FileManager.default.createDirectory(at: path, withIntermediateDirectories: false)
            #expect(FileManager.default.createFile(atPath: path.appendingPathComponent("x").path, contents: Data([1])))

            _ = try await storage.sessions.abort(session.id, of: alice)
            #expect(try await harness.blobRows() == ["p\(alice.id)/\(hexString(stuck))"])
            let claim = try await harness.sql("SELECT deleting, claimed_at IS NULL AS given_up FROM blobs").rows[0]
            #expect(try claim.bool("deleting") && claim.bool("given_up"))
            // The others' rows are gone, so their bytes are stored again with no wait.
            let again = try await storage.sessions.create(
                declaration("again", Array(bytes[0..<1000]), partitionSize: 1000), by: alice)
            let stored = try await storage.sessions.storePartition(
                0, of: again.id, by: alice, chunks: ChunkSequence(Array(bytes[0..<1000])))
            #expect(!stored.alreadyStored)
        }
    }

    /// A lease refused because a reclaimer is deleting identical bytes right now waits for it
    /// (a moment) rather than fail the upload: uploading bytes just deleted or aborted is usual.
    @Test func anUploadWaitsOutADeletionOfTheSameBytesUnderWay() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 58)
            try await storage.upload("first", bytes, partitionSize: 1000, by: alice)
            try await harness.holdEveryBlob()
            _ = try await storage.objects.delete("first", of: alice)
            // A reclaimer is deleting the bytes: marked, claimed a moment ago.
            _ = try await harness.sql("UPDATE blobs SET deleting = true, reclaim_claim = 42, claimed_at = now()")
            let session = try await storage.sessions.create(declaration("again", bytes, partitionSize: 1000), by: alice)
            let upload = Task {
                try await storage.sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(bytes))
            }
            try await Task.sleep(for: .milliseconds(400))
            // It finishes as a reclaimer does: the bytes go, then the row.
            for file in harness.blobFiles() {
                try FileManager.default.removeItem(at: harness.blobRoot.appendingPathComponent("blobs").appendingPathComponent(file))
            }
            _ = try await harness.sql("DELETE FROM blobs")
            #expect(try await !upload.value.alreadyStored)
            let version = try await storage.sessions.commit(session.id, by: alice, objects: storage.objects)
            #expect(try await storage.read(version) == bytes)
        }
    }

    /// An upload that brings no bytes (they fail their check, the call ends) keeps nothing:
    /// otherwise a grantee that read a partition's hash while it was shared could keep bytes
    /// the owner deleted for good on disk, one failed upload after another.
    @Test func anUploadThatBringsNoBytesKeepsNothing() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage  // the default grace period: an hour
            let (alice, bob) = try await harness.aliceSharingInboxWithBob()
            let secret = sampleBytes(3000, seed: 41)
            try await storage.upload("private/contract", secret, partitionSize: 3000, by: alice)
            _ = try await storage.objects.delete("private/contract", of: alice)
            #expect(harness.blobFiles().isEmpty)

            let session = try await storage.sessions.create(
                declaration("inbox/x", secret, partitionSize: 3000), by: bob, owner: alice)
            await expectStorageError(.dataLoss, mentioning: []) {
                try await storage.sessions.storePartition(
                    0, of: session.id, by: bob, chunks: ChunkSequence(sampleBytes(3000, seed: 42)))
            }
            await #expect(throws: (any Error).self) {
                try await storage.sessions.storePartition(
                    0, of: session.id, by: bob, chunks: ChunkSequence(secret, pieceSize: 1000, failAfter: 1))
            }
            #expect(try await harness.sql("SELECT 1 FROM blob_holds").rows.isEmpty)
            // The row their leases made keeps nothing: the next pass takes it.
            #expect(try await storage.collector.collect().deletedBlobs == 1)
            #expect(try await harness.blobRows().isEmpty)
            #expect(harness.blobFiles().isEmpty)
        }
    }

    /// The hold of an upload whose server died lapses at its expiry (the grace period).
    @Test func aHoldLapsesAtItsExpiry() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let key = try BlobKey(scope: "p\(alice.id)", sha256: SHA256.hash(sampleBytes(100, seed: 51)))
            let lease = try await storage.sessions.lease(key, size: 100)
            #expect(lease.newBlob)
            #expect(try await storage.collector.collect().deletedBlobs == 0)
            _ = try await harness.sql("UPDATE blob_holds SET expires_at = now() - interval '1 second'")
            #expect(try await storage.collector.collect().deletedBlobs == 1)
            #expect(try await harness.sql("SELECT 1 FROM blob_holds").rows.isEmpty)
        }
    }

    /// The row of a hold lapsed for a grace period is forgotten, even while its blob stays
    /// (a version refers to it): it would otherwise stay as long as the blob.
    @Test func aLapsedHoldIsForgottenWhileItsBlobStays() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(100, seed: 52)
            let version = try await storage.upload("kept", bytes, partitionSize: 100, by: alice)
            try await harness.holdEveryBlob()
            #expect(try await storage.collector.collect().deletedBlobs == 0)
            #expect(try await harness.sql("SELECT 1 FROM blob_holds").rows.count == 1)
            _ = try await harness.sql("UPDATE blob_holds SET expires_at = now() - interval '1 hour 1 second'")
            #expect(try await storage.collector.collect().deletedBlobs == 0)
            #expect(try await harness.sql("SELECT 1 FROM blob_holds").rows.isEmpty)
            #expect(try await storage.read(version) == bytes)
        }
    }
}
