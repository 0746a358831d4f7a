import Foundation
import SluiceOpenSSL
import SluicePostgres
@testable import SluiceStore
import SluiceTestSupport
import Testing

/// Commits read no payload: the whole-object SHA-256 is known at commit after an in-order
/// upload, and after an out-of-order one once the session's frontier has read back what
/// arrived ahead (else the version is pending until the verifier settles it, resuming from
/// the session's hash); a declared hash that proves wrong is refused at commit or recorded as
/// a mismatch, never as verified.
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

    /// How many leading partitions the session's whole hash covers.
    static func hashedThrough(_ harness: StorageHarness, _ id: SessionID) async throws -> Int64 {
        try await harness.pool.withConnection { connection in
            try connection.execute(
                "SELECT whole_hashed_through FROM upload_sessions WHERE id = $1", [.bytes(id.bytes)]
            ).rows[0].int("whole_hashed_through")
        }
    }

    static var partitionCount: Int64 { Int64(cut(bytes, partitionSize: partitionSize).count) }

    /// Stores the partitions last to first and waits until the frontier has read back the ones
    /// that arrived ahead of the first, and has stopped.
    static func storeBackwardsAndLetTheFrontierCatchUp(
        _ harness: StorageHarness, _ id: SessionID, by principal: Principal
    ) async throws {
        try await storeBackwards(harness, id, by: principal)
        try await waitUntil("the frontier hashed every partition") {
            try await hashedThrough(harness, id) == partitionCount
        }
        await harness.storage.sessions.wholeHashes.frontier.quiesce(id)
    }

    @Test func aParallelUploadsHashIsDoneByTheCommit() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await Self.uploadAhead(harness, "ahead", by: alice)
            let committed = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            #expect(committed.sha256State == .undeclared && committed.sha256 == SHA256.hash(Self.bytes))
        }
    }

    static let wrong = SHA256.hash([1, 2, 3])

    /// A session for `name` (declaring `objectSHA256`), its partitions stored last to first and
    /// read back by the frontier.
    static func uploadAhead(
        _ harness: StorageHarness, _ name: String, declaring objectSHA256: [UInt8]? = nil, by principal: Principal
    ) async throws -> SessionRecord {
        let session = try await harness.storage.sessions.create(
            declaration(name, bytes, partitionSize: partitionSize, objectSHA256: objectSHA256), by: principal)
        try await storeBackwardsAndLetTheFrontierCatchUp(harness, session.id, by: principal)
        return session
    }

    @Test func aWrongDeclaredHashFoundBeforeTheCommitIsDataLoss() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await Self.uploadAhead(harness, "wrong", declaring: Self.wrong, by: alice)
            await expectStorageError(.dataLoss, mentioning: ["object_sha256", hexString(Self.wrong)]) {
                _ = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            }
        }
    }

    /// Puts the session's whole hash back to `through` partitions with `state`, as a commit
    /// served before the frontier caught up (by another instance, say) finds it.
    static func rewind(
        _ harness: StorageHarness, _ id: SessionID, to through: Int, state: ResumableSHA256
    ) async throws {
        _ = try await harness.pool.withConnection { connection in
            try connection.execute(
                "UPDATE upload_sessions SET whole_hashed_through = $2, whole_hash_state = $3 WHERE id = $1",
                [.bytes(id.bytes), .int(Int64(through)), .bytes(state.exported())])
        }
    }

    @Test func theVerifierResumesFromTheSessionsHash() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await Self.uploadAhead(harness, "resumed", by: alice)
            // A saved state over two partitions' worth of other bytes: a verifier that resumes
            // from it finishes with their hash followed by the rest, one that starts over does not.
            let standIn = sampleBytes(2 * Self.partitionSize, seed: 34)
            var saved = ResumableSHA256()
            standIn.withUnsafeBytes { saved.update($0) }
            try await Self.rewind(harness, session.id, to: 2, state: saved)
            let committed = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            #expect(committed.sha256State == .pending)
            _ = try await sessions.wholeHashes.verifyPending()
            let settled = try await harness.storage.objects.version("resumed", 0, of: alice)
            let rest = Array(Self.bytes[(2 * Self.partitionSize)...])
            #expect(settled.sha256State == .undeclared && settled.sha256 == SHA256.hash(standIn + rest))
        }
    }

    @Test func wrongDeclaredHashFoundAfterCommitIsAMismatch() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await Self.uploadAhead(harness, "wrong", declaring: Self.wrong, by: alice)
            try await Self.rewind(harness, session.id, to: 0, state: ResumableSHA256())
            let committed = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            #expect(committed.sha256State != .verified)
            _ = try await sessions.wholeHashes.verifyPending()
            let settled = try await harness.storage.objects.version("wrong", 0, of: alice)
            #expect(settled.sha256State == .mismatch)
            #expect(settled.sha256 == SHA256.hash(Self.bytes) && settled.sha256 != Self.wrong)
        }
    }

    /// A declaration of `bytes` that asks for no whole-object SHA-256.
    static func skipping(_ name: String, _ bytes: [UInt8] = bytes, requestID: String? = nil) -> SessionDeclaration {
        var skipping = declaration(name, bytes, partitionSize: partitionSize)
        skipping.skipsWholeSHA256 = true
        skipping.requestID = requestID
        return skipping
    }

    @Test func anUploadThatSkipsTheWholeHashIsNeverHashedWhole() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            // In order (which would extend the hash as the bytes stream in) and backwards (which
            // would wake the frontier): neither hashes the object whole.
            let forwards = try await sessions.create(Self.skipping("forwards"), by: alice)
            #expect(forwards.skipsWholeSHA256)
            try await harness.storage.storeAll(Self.bytes, partitionSize: Self.partitionSize, in: forwards.id, by: alice)
            let backwards = try await sessions.create(Self.skipping("backwards"), by: alice)
            try await Self.storeBackwards(harness, backwards.id, by: alice)
            await sessions.wholeHashes.frontier.quiesce(backwards.id)
            for session in [forwards, backwards] {
                #expect(try await Self.hashedThrough(harness, session.id) == 0)
                let committed = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
                #expect(committed.sha256State == .notComputed && committed.sha256.isEmpty)
                #expect(committed.compositeSHA256
                    == CompositeHash.of(cut(Self.bytes, partitionSize: Self.partitionSize).map(SHA256.hash)))
            }
            _ = try await sessions.wholeHashes.verifyPending()
            for name in ["forwards", "backwards"] {
                let settled = try await harness.storage.objects.version(name, 0, of: alice)
                #expect(settled.sha256State == .notComputed && settled.sha256.isEmpty)
            }
            // One partition's hash is the whole's: known without a pass, so given anyway.
            let small = Array(Self.bytes.prefix(Self.partitionSize))
            let one = try await sessions.create(Self.skipping("one", small), by: alice)
            try await harness.storage.storeAll(small, partitionSize: Self.partitionSize, in: one.id, by: alice)
            let committed = try await sessions.commit(one.id, by: alice, objects: harness.storage.objects)
            #expect(committed.sha256State == .undeclared && committed.sha256 == SHA256.hash(small))
        }
    }

    @Test func skippingTheWholeHashIsOneDeclarationAndNeverBesideADeclaredHash() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            var both = Self.skipping("both")
            both.objectSHA256 = SHA256.hash(Self.bytes)
            await expectStorageError(.invalidArgument, mentioning: ["skip_whole_sha256", "object_sha256"]) {
                _ = try await sessions.create(both, by: alice)
            }
            let first = try await sessions.create(Self.skipping("again", requestID: "r-1"), by: alice)
            #expect(try await sessions.create(Self.skipping("again", requestID: "r-1"), by: alice).id == first.id)
            var keeping = Self.skipping("again", requestID: "r-1")
            keeping.skipsWholeSHA256 = false
            await expectStorageError(.invalidArgument, mentioning: ["request_id"]) {
                _ = try await sessions.create(keeping, by: alice)
            }
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
