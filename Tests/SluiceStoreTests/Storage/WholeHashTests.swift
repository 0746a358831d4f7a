import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import Testing

/// Commits read no payload: the whole-object SHA-256 is known at commit after an in-order
/// upload, pending after an out-of-order one until the verifier settles it, and a declared
/// hash that proves wrong is recorded as a mismatch, never as verified.
@Suite(.timeLimit(.minutes(5))) struct WholeHashTests {
    static let bytes = sampleBytes(4 * 1000 + 17, seed: 33)
    static let partitionSize = 1000

    static func storeBackwards(_ harness: StorageHarness, _ id: SessionID, by principal: Principal) async throws {
        for (index, partition) in cut(bytes, partitionSize: partitionSize).enumerated().reversed() {
            _ = try await harness.storage.sessions.storePartition(
                index, of: id, by: principal, chunks: ChunkSequence(partition))
        }
    }

    @Test func inOrderUploadIsKnownAtCommit() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            let version = try await harness.storage.upload("in-order", Self.bytes, partitionSize: Self.partitionSize, by: alice)
            #expect(version.sha256State == .undeclared && version.sha256 == SHA256.hash(Self.bytes))
            #expect(version.compositeSHA256 == CompositeHash.of(cut(Self.bytes, partitionSize: Self.partitionSize).map(SHA256.hash)))
        }
    }

    @Test func outOfOrderUploadIsPendingUntilVerified() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await sessions.create(
                declaration(
                    "backwards", Self.bytes, partitionSize: Self.partitionSize, objectSHA256: SHA256.hash(Self.bytes)),
                by: alice)
            try await Self.storeBackwards(harness, session.id, by: alice)
            let committed = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            // The commit wakes the verifier in the background; a pass here settles it either way.
            _ = try await sessions.wholeHashes.verifyPending()
            if committed.sha256State == .pending { #expect(committed.sha256.isEmpty) }
            let settled = try await harness.storage.objects.version("backwards", 0, of: alice)
            #expect(settled.sha256State == .verified && settled.sha256 == SHA256.hash(Self.bytes))
        }
    }

    @Test func wrongDeclaredHashFoundAfterCommitIsAMismatch() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let wrong = SHA256.hash([1, 2, 3])
            let session = try await sessions.create(
                declaration("wrong", Self.bytes, partitionSize: Self.partitionSize, objectSHA256: wrong), by: alice)
            try await Self.storeBackwards(harness, session.id, by: alice)
            let committed = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            #expect(committed.sha256State != .verified)
            _ = try await sessions.wholeHashes.verifyPending()
            let settled = try await harness.storage.objects.version("wrong", 0, of: alice)
            #expect(settled.sha256State == .mismatch)
            #expect(settled.sha256 == SHA256.hash(Self.bytes) && settled.sha256 != wrong)
        }
    }

    @Test func exportedHashStateResumesAcrossPartitions() {
        var whole = ResumableSHA256()
        for partition in cut(Self.bytes, partitionSize: Self.partitionSize) {
            var resumed = ResumableSHA256(exported: whole.exported())!
            partition.withUnsafeBytes { resumed.update($0) }
            whole = resumed
        }
        #expect(whole.finalize() == SHA256.hash(Self.bytes))
    }
}
