import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import Testing

/// One principal never sees another's objects or sessions.
@Suite(.timeLimit(.minutes(5))) struct IsolationTests {
    @Test func anotherPrincipalSeesNothing() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            #expect(alice.id != bob.id)
            let secret = sampleBytes(2500, seed: 71)
            try await storage.upload("private/report", secret, partitionSize: 1000, by: alice)
            // Other bytes than the report's, which a new session would find already held.
            let draft = sampleBytes(2500, seed: 74)
            let pending = try await storage.sessions.create(declaration("private/draft", draft, partitionSize: 1000), by: alice)
            _ = try await storage.sessions.storePartition(0, of: pending.id, by: alice, chunks: ChunkSequence(Array(draft[0..<1000])))

            // Objects.
            await expectStorageError(.notFound) { try await storage.objects.version("private/report", 0, of: bob) }
            await expectStorageError(.notFound) { try await storage.objects.version("private/report", 1, of: bob) }
            await expectStorageError(.notFound) {
                try await storage.objects.versions(of: "private/report", principal: bob, pageSize: 10, pageToken: "")
            }
            await expectStorageError(.notFound) { try await storage.objects.partition(0, of: "private/report", version: 1, principal: bob) }
            await expectStorageError(.notFound) { try await storage.objects.restore("private/report", version: 1, of: bob) }
            await expectStorageError(.notFound) { try await storage.objects.delete("private/report", of: bob) }
            for (prefix, delimiter) in [("", ""), ("", "/"), ("private/", "")] {
                let listing = try await storage.objects.list(prefix: prefix, delimiter: delimiter, principal: bob, pageSize: 10, pageToken: "")
                #expect(listing.objects.isEmpty && listing.commonPrefixes.isEmpty && listing.nextPageToken.isEmpty)
            }

            // Sessions: the same answer as for an id that does not exist.
            let missing = SessionID.random()
            for id in [pending.id, missing] {
                await expectStorageError(.notFound, mentioning: ["\(id)", "does not exist"]) { try await storage.sessions.get(id, of: bob) }
                await expectStorageError(.notFound) { try await storage.sessions.abort(id, of: bob) }
                await expectStorageError(.notFound) { try await storage.sessions.commit(id, by: bob, objects: storage.objects) }
                await expectStorageError(.notFound) {
                    try await storage.sessions.storePartition(1, of: id, by: bob, chunks: ChunkSequence(Array(secret[1000..<2000])))
                }
            }
            #expect(try await storage.sessions.list(of: bob, pageSize: 10, pageToken: "", openOnly: false).sessions.isEmpty)

            // Alice's things are untouched by all of that.
            let session = try await storage.sessions.get(pending.id, of: alice)
            #expect(session.state == .open && session.storedPartitions == [0])
            #expect(try await storage.objects.version("private/report", 0, of: alice).version == 1)
            #expect(try await storage.sessions.list(of: alice, pageSize: 10, pageToken: "", openOnly: false).sessions.count == 2)
        }
    }

    @Test func theSameNameForTwoPrincipalsIsTwoObjects() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            let aliceBytes = sampleBytes(1500, seed: 72)
            let bobBytes = sampleBytes(900, seed: 73)
            let a1 = try await storage.upload("notes.txt", aliceBytes, partitionSize: 1000, by: alice)
            let a2 = try await storage.upload("notes.txt", aliceBytes.reversed(), partitionSize: 1000, by: alice)
            let b1 = try await storage.upload("notes.txt", bobBytes, partitionSize: 1000, by: bob)
            #expect(a1.version == 1 && a2.version == 2 && b1.version == 1)
            #expect(try await storage.read(try await storage.objects.version("notes.txt", 0, of: bob)) == bobBytes)
            #expect(try await storage.read(try await storage.objects.version("notes.txt", 1, of: alice)) == aliceBytes)
            #expect(try await storage.objects.versions(of: "notes.txt", principal: bob, pageSize: 10, pageToken: "").versions.count == 1)
            #expect(try await storage.objects.list(prefix: "", delimiter: "", principal: bob, pageSize: 10, pageToken: "")
                .objects.map(\.version) == [1])

            #expect(try await storage.objects.delete("notes.txt", of: bob) == 1)
            #expect(try await storage.objects.version("notes.txt", 0, of: alice).version == 2)
            #expect(try await storage.read(try await storage.objects.version("notes.txt", 0, of: alice)) == aliceBytes.reversed())
            _ = try await storage.objects.restore("notes.txt", version: 1, of: alice)
            await expectStorageError(.notFound) { try await storage.objects.version("notes.txt", 0, of: bob) }
        }
    }

    @Test func principalsAreRecordedOnceAndRemembered() async throws {
        try await StorageHarness.with { harness in
            let first = try await harness.principal("CN=carol,O=Example")
            let again = try await harness.principal("CN=carol,O=Example")
            let fresh = try await harness.storage(with: harness.limits).principals.principal(named: "CN=carol,O=Example")
            #expect(first == again && first == fresh)
            #expect(try await harness.sql("SELECT count(*)::bigint AS n FROM principals").rows[0].int("n") == 1)
        }
    }

    /// Certificate subjects are compared as bytes, like object names: two subjects that are
    /// different strings in the database must be two principals, even when Swift considers
    /// them equal (canonical equivalence: precomposed "é" and "e" + combining acute).
    @Test func canonicallyEquivalentSubjectsAreDistinctPrincipals() async throws {
        try await StorageHarness.with { harness in
            let directory = harness.storage.principals
            let precomposed = try await directory.principal(named: "CN=ren\u{E9}")
            let decomposed = try await directory.principal(named: "CN=rene\u{301}")
            // A directory without a cache (another instance) asks the database, which
            // compares text as bytes: the decomposed subject is a principal of its own.
            let elsewhere = try await harness.storage(with: harness.limits).principals.principal(named: "CN=rene\u{301}")
            #expect(elsewhere.id != precomposed.id)
            let rows = try await harness.sql("SELECT id, name FROM principals ORDER BY id").rows
            let recorded = try rows.map { (try $0.int("id"), Array(try $0.string("name").utf8)) }
            #expect(recorded.count == 2)
            #expect(precomposed.id != decomposed.id,
                    "CN=ren\\u{E9} and CN=rene\\u{301} share principal \(precomposed.id); the database has \(recorded)")
            #expect(Array(decomposed.name.utf8) == Array("CN=rene\u{301}".utf8))
        }
    }
}

/// Identical bytes are stored once within a scope, and scopes follow the operator's choice.
@Suite(.timeLimit(.minutes(5))) struct DeduplicationTests {
    @Test func oneBlobPerDistinctPartitionWithinAPrincipal() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(2500, seed: 81)
            let first = try await storage.upload("one", bytes, partitionSize: 1000, by: alice)
            let files = harness.blobFiles()
            #expect(files.count == 3)
            // Another session of the same principal uploading the same partitions.
            let second = try await storage.upload("two", bytes, partitionSize: 1000, by: alice)
            #expect(harness.blobFiles() == files)
            #expect(first.partitions == second.partitions)
            #expect(try await storage.read(second) == bytes)
            #expect(try await harness.blobRows().count == 3)

            // Repeated partitions within one object are one blob too.
            let zeros = [UInt8](repeating: 0, count: 1000)
            let repeated = zeros + zeros + zeros + zeros + [1, 2, 3]
            let version = try await storage.upload("zeros", repeated, partitionSize: 1000, by: alice)
            #expect(harness.blobFiles().count == 5)
            #expect(Set(version.partitions.map(\.sha256)).count == 2)
            #expect(try await storage.read(version, chunkSize: 300) == repeated)
            #expect(files.allSatisfy { $0.hasPrefix("p\(alice.id)/") })
        }
    }

    @Test func principalsDoNotShareBlobsByDefault() async throws {
        try await StorageHarness.with { harness in
            #expect(harness.limits.deduplicateAcrossPrincipals == false)
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            let bytes = sampleBytes(1000, seed: 82)
            let a = try await storage.upload("same", bytes, partitionSize: 1000, by: alice)
            let b = try await storage.upload("same", bytes, partitionSize: 1000, by: bob)
            #expect(a.partitions[0].blobScope != b.partitions[0].blobScope)
            #expect(harness.blobFiles() == [
                harness.blobFile(scope: "p\(alice.id)", sha256: SHA256.hash(bytes)),
                harness.blobFile(scope: "p\(bob.id)", sha256: SHA256.hash(bytes)),
            ].sorted())
            // Deleting Alice's copy takes its bytes and leaves Bob's.
            _ = try await storage.objects.delete("same", of: alice)
            #expect(harness.blobFiles() == [harness.blobFile(scope: "p\(bob.id)", sha256: SHA256.hash(bytes))])
            #expect(try await storage.read(b) == bytes)
        }
    }

    @Test func principalsShareBlobsWhenTheOperatorAllowsIt() async throws {
        var limits = StorageLimits()
        limits.deduplicateAcrossPrincipals = true
        try await StorageHarness.with(limits: limits) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            let bytes = sampleBytes(1000, seed: 83)
            let a = try await storage.upload("same", bytes, partitionSize: 1000, by: alice)
            let b = try await storage.upload("other", bytes, partitionSize: 1000, by: bob)
            #expect(a.partitions == b.partitions)
            #expect(harness.blobFiles() == [harness.blobFile(scope: "shared", sha256: SHA256.hash(bytes))])
            // Sharing bytes is not sharing objects.
            await expectStorageError(.notFound) { try await storage.objects.version("same", 0, of: bob) }
            _ = try await storage.objects.delete("same", of: alice)
            var collecting = limits
            collecting.blobGracePeriod = .zero
            collecting.closedSessionRetention = .zero
            #expect(try await harness.storage(with: collecting).collector.collect().deletedBlobs == 0)
            #expect(try await storage.read(b) == bytes)
        }
    }
}
