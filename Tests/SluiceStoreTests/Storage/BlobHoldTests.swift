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
