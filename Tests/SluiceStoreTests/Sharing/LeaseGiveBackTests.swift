import Foundation
import SluiceOpenSSL
import SluicePostgres
import Testing
@testable import SluiceStore

/// An upload renews the lease of a blob row its declared hash names before any byte arrives.
/// One that then brings no bytes (they fail their check, or the call ends) gives that renewal
/// back: otherwise a grantee that read a partition's hash while it was shared could keep the
/// bytes of an object the owner deleted for good on disk for ever, one failed upload per grace
/// period.
@Suite struct LeaseGiveBackTests {
    @Test func anUploadThatBringsNoBytesLeavesTheLeaseAsItWas() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let (alice, bob) = try await harness.aliceSharingInboxWithBob()
            let secret = sampleBytes(3000, seed: 41)
            try await storage.upload("private/contract", secret, partitionSize: 3000, by: alice)
            _ = try await storage.objects.delete("private/contract", of: alice)
            let scope = "p\(alice.id)", sha = SHA256.hash(secret)
            _ = try await harness.sql(
                "UPDATE blobs SET last_used_at = now() - interval '30 minutes' WHERE scope = $1 AND sha256 = $2",
                [.text(scope), .bytes(sha)])
            func lease() async throws -> String {
                try await harness.sql(
                    "SELECT last_used_at::text AS at FROM blobs WHERE scope = $1 AND sha256 = $2",
                    [.text(scope), .bytes(sha)]).rows.first!.string("at")
            }
            let before = try await lease()

            let session = try await storage.sessions.create(
                declaration("inbox/x", secret, partitionSize: 3000), by: bob, owner: alice)
            let wrong = sampleBytes(3000, seed: 42)
            await expectStorageError(.dataLoss, mentioning: []) {
                try await storage.sessions.storePartition(0, of: session.id, by: bob, chunks: ChunkSequence(wrong))
            }
            #expect(try await lease() == before, "bytes that failed their check renewed the lease")
            await #expect(throws: (any Error).self) {
                try await storage.sessions.storePartition(
                    0, of: session.id, by: bob, chunks: ChunkSequence(secret, pieceSize: 1000, failAfter: 1))
            }
            #expect(try await lease() == before, "an upload cut short renewed the lease")
        }
    }

    /// A lease that made the blob row gives it to the collector's next pass when its upload
    /// brings no bytes, rather than holding it for the whole grace period.
    @Test func aRowALeaseMadeForNoBytesGoesInTheNextPass() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage  // the default grace period: an hour
            let alice = try await harness.principal("CN=alice")
            let declared = sampleBytes(2000, seed: 43)
            let session = try await storage.sessions.create(declaration("never", declared, partitionSize: 2000), by: alice)
            await expectStorageError(.dataLoss, mentioning: []) {
                try await storage.sessions.storePartition(
                    0, of: session.id, by: alice, chunks: ChunkSequence(sampleBytes(2000, seed: 44)))
            }
            #expect(try await harness.blobRows() == ["p\(alice.id)/\(hexString(SHA256.hash(declared)))"])
            _ = try await storage.collector.collect()
            #expect(try await harness.blobRows().isEmpty, "a row leased for no bytes waited for the grace period")
        }
    }
}
