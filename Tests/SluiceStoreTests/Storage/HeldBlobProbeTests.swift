import Foundation
import SluiceOpenSSL
import SluicePostgres
import Testing
@testable import SluiceStore

/// The probe that decides whether a create runs the costly marking of partitions already held
/// applies the marking's own visibility rule, so that how long a create takes depends only on
/// bytes the caller could read anyway. It used to count every blob of the owner's scope: a
/// grantee (or, with dedup across principals, anyone) timed creates to learn whether hidden or
/// deleted bytes were held.
@Suite struct HeldBlobProbeTests {
    @Test func theProbeFindsOnlyBytesTheCallerCouldRead() async throws {
        try await StorageHarness.with { harness in
            let (alice, bob) = try await harness.aliceSharingInboxWithBob()
            let secret = Array("alice's private bytes".utf8), shared = Array("bytes in the shared folder".utf8)
            try await harness.storage.upload("private/plan", secret, by: alice)
            try await harness.storage.upload("inbox/note", shared, by: alice)

            func probed(_ bytes: [UInt8], by caller: Principal) async throws -> Bool {
                let declaration = declaration("inbox/probe", bytes, partitionSize: 1024)
                let scope = BlobScope.of(owner: alice.id, limits: harness.limits)
                let probe = try #require(UploadSessions.probingHeldBlobs(declaration, scope: scope, owner: alice, caller: caller))
                return try await harness.pool.withConnection { try $0.execute(probe).rows.first?.int("held") ?? 0 } > 0
            }
            #expect(try await probed(secret, by: alice))
            #expect(try await probed(shared, by: bob))
            #expect(try await !probed(secret, by: bob), "a grantee's probe found bytes outside its grant")
            #expect(try await !probed(Array("never stored".utf8), by: alice))

            _ = try await harness.storage.objects.delete("private/plan", of: alice)
            #expect(try await !probed(secret, by: alice), "the probe found the bytes of an object deleted for good")
        }
    }
}
