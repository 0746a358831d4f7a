import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import Testing

/// Committing upload sessions into object versions.
@Suite(.timeLimit(.minutes(5))) struct CommitTests {
    static let bytes = sampleBytes(3 * 1000 + 234, seed: 21)
    static let partitionSize = 1000

    @Test func missingPartitionsAreFailedPreconditionNamingThem() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(5 * 100, seed: 2)
            let partitions = cut(bytes, partitionSize: 100)
            let session = try await sessions.create(declaration("m", bytes, partitionSize: 100), by: alice)
            for index in [0, 2] {
                _ = try await sessions.storePartition(index, of: session.id, by: alice, chunks: ChunkSequence(partitions[index]))
            }
            await expectStorageError(.failedPrecondition, mentioning: ["3 of 5", "(1, 3, 4)"]) {
                try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            }
            #expect(try await sessions.get(session.id, of: alice).state == .open)
            await expectStorageError(.notFound) { try await harness.storage.objects.version("m", 0, of: alice) }
        }
    }

    @Test func manyMissingPartitionsAreSummarized() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(30, seed: 2)
            let session = try await sessions.create(declaration("many", bytes, partitionSize: 1), by: alice)
            _ = try await sessions.storePartition(3, of: session.id, by: alice, chunks: ChunkSequence([bytes[3]]))
            let shown = (0..<21).filter { $0 != 3 }.map(String.init).joined(separator: ", ")
            await expectStorageError(.failedPrecondition, mentioning: ["29 of 30", "(\(shown) and 9 more)"]) {
                try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            }
        }
    }

    @Test func declaredObjectHashMismatchIsDataLoss() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let declared = SHA256.hash(Self.bytes.reversed())
            let session = try await sessions.create(
                declaration("h", Self.bytes, partitionSize: Self.partitionSize, objectSHA256: declared), by: alice)
            try await harness.storage.storeAll(Self.bytes, partitionSize: Self.partitionSize, in: session.id, by: alice)
            await expectStorageError(.dataLoss, mentioning: ["object_sha256", hexString(declared), hexString(SHA256.hash(Self.bytes))]) {
                try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            }
            #expect(try await sessions.get(session.id, of: alice).state == .open)
            await expectStorageError(.notFound) { try await harness.storage.objects.version("h", 0, of: alice) }

            // A single-partition session with a wrong object hash is caught too.
            let one = sampleBytes(10, seed: 9)
            let single = try await sessions.create(
                declaration("h1", one, partitionSize: 10, objectSHA256: SHA256.hash([1])), by: alice)
            _ = try await sessions.storePartition(0, of: single.id, by: alice, chunks: ChunkSequence(one))
            await expectStorageError(.dataLoss, mentioning: ["object_sha256"]) {
                try await sessions.commit(single.id, by: alice, objects: harness.storage.objects)
            }
        }
    }

    @Test func commitMakesVersionOneWithItsPartitions() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let metadata = ["ключ": "значение 😀", "quote\"": "back\\slash\nnew line", "empty": ""]
            let session = try await sessions.create(
                declaration("dir/report.bin", Self.bytes, partitionSize: Self.partitionSize,
                            objectSHA256: SHA256.hash(Self.bytes), contentType: "application/x-test; v=1", metadata: metadata),
                by: alice)
            try await harness.storage.storeAll(Self.bytes, partitionSize: Self.partitionSize, in: session.id, by: alice)
            let version = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)

            #expect(version.name == "dir/report.bin")
            #expect(version.version == 1)
            #expect(version.size == Int64(Self.bytes.count))
            #expect(version.sha256 == SHA256.hash(Self.bytes))
            #expect(version.contentType == "application/x-test; v=1")
            #expect(version.userMetadata == metadata)
            #expect(version.partitionSize == Int64(Self.partitionSize))
            #expect(version.partitionCount == 4)
            #expect(version.isCurrent)
            #expect(version.restoredFrom == nil)
            let parts = cut(Self.bytes, partitionSize: Self.partitionSize)
            #expect(version.partitions.map(\.index) == [0, 1, 2, 3])
            #expect(version.partitions.map(\.offset) == [0, 1000, 2000, 3000])
            #expect(version.partitions.map(\.size) == [1000, 1000, 1000, 234])
            #expect(version.partitions.map(\.sha256) == parts.map { SHA256.hash($0) })
            #expect(Set(version.partitions.map(\.blobScope)) == ["p\(alice.id)"])
            #expect(version.committedAt >= version.createdAt)

            let closed = try await sessions.get(session.id, of: alice)
            #expect(closed.state == .committed)
            #expect(closed.committedVersion == 1)

            // Committing again answers the same version and makes no other.
            let again = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            #expect(again == version)
            let listed = try await harness.storage.objects.versions(of: "dir/report.bin", principal: alice, pageSize: 10, pageToken: "")
            #expect(listed.versions.map(\.version) == [1])
            #expect(try await harness.storage.read(version) == Self.bytes)
        }
    }

    @Test func anEmptyObjectCommits() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            let version = try await harness.storage.upload("empty", [], by: alice)
            #expect(version.size == 0)
            #expect(version.partitions.isEmpty)
            #expect(version.partitionCount == 0)
            #expect(version.sha256 == SHA256.hash([]))
            #expect(try await harness.storage.read(version).isEmpty)
            #expect(harness.blobFiles().isEmpty)
        }
    }

    @Test func concurrentCommitsOfOneSessionMakeOneVersion() async throws {
        try await StorageHarness.with(poolSize: 6) { harness in
            let sessions = harness.storage.sessions
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let session = try await sessions.create(declaration("race", Self.bytes, partitionSize: Self.partitionSize), by: alice)
            try await harness.storage.storeAll(Self.bytes, partitionSize: Self.partitionSize, in: session.id, by: alice)
            let versions = try await withThrowingTaskGroup(of: ObjectVersionRecord.self) { group in
                for _ in 0..<5 { group.addTask { try await sessions.commit(session.id, by: alice, objects: objects) } }
                var versions: [ObjectVersionRecord] = []
                for try await version in group { versions.append(version) }
                return versions
            }
            #expect(versions.count == 5)
            #expect(Set(versions.map(\.version)) == [1])
            #expect(Set(versions.map(\.sha256)) == [SHA256.hash(Self.bytes)])
            let listed = try await objects.versions(of: "race", principal: alice, pageSize: 10, pageToken: "")
            #expect(listed.versions.map(\.version) == [1])
            #expect(try await harness.sql("SELECT count(*)::bigint AS n FROM object_versions").rows[0].int("n") == 1)
            #expect(try await harness.sql("SELECT count(*)::bigint AS n FROM version_partitions").rows[0].int("n") == 4)
        }
    }

    @Test func twoSessionsForOneNameMakeVersionsOneAndTwo() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let first = sampleBytes(1500, seed: 31)
            let second = sampleBytes(700, seed: 32)
            // Both open at once; the one committed first becomes version 1.
            let a = try await sessions.create(declaration("same", first, partitionSize: 1000), by: alice)
            let b = try await sessions.create(declaration("same", second, partitionSize: 1000), by: alice)
            try await harness.storage.storeAll(second, partitionSize: 1000, in: b.id, by: alice)
            try await harness.storage.storeAll(first, partitionSize: 1000, in: a.id, by: alice)
            let v1 = try await sessions.commit(b.id, by: alice, objects: objects)
            let v2 = try await sessions.commit(a.id, by: alice, objects: objects)
            #expect(v1.version == 1 && v2.version == 2)
            #expect(v2.isCurrent)
            let current = try await objects.version("same", 0, of: alice)
            #expect(current.version == 2 && current.isCurrent && current.sha256 == SHA256.hash(first))
            let old = try await objects.version("same", 1, of: alice)
            #expect(!old.isCurrent && old.sha256 == SHA256.hash(second))
            #expect(old.createdAt == current.createdAt)
            #expect(try await harness.storage.read(old) == second)
            #expect(try await harness.storage.read(current) == first)
            // Re-committing the first session still answers its own version.
            #expect(try await sessions.commit(b.id, by: alice, objects: objects).version == 1)
        }
    }

    @Test func concurrentCommitsOfDifferentSessionsForOneNameNumberVersionsDistinctly() async throws {
        try await StorageHarness.with(poolSize: 6) { harness in
            let sessions = harness.storage.sessions
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            var ids: [SessionID] = []
            for seed in 0..<5 {
                let bytes = sampleBytes(100, seed: UInt64(100 + seed))
                let session = try await sessions.create(declaration("contended", bytes, partitionSize: 100), by: alice)
                try await harness.storage.storeAll(bytes, partitionSize: 100, in: session.id, by: alice)
                ids.append(session.id)
            }
            let made = try await withThrowingTaskGroup(of: Int64.self) { group in
                for id in ids { group.addTask { try await sessions.commit(id, by: alice, objects: objects).version } }
                var made: [Int64] = []
                for try await version in group { made.append(version) }
                return made
            }
            #expect(made.sorted() == [1, 2, 3, 4, 5])
            #expect(try await objects.version("contended", 0, of: alice).version == 5)
        }
    }

    /// A committed session remembers the version it made. After the object is deleted and the
    /// name reused, committing that session again must not answer the new object's version
    /// (which holds other bytes) as if it were its own.
    @Test func recommitAfterTheNameWasReusedDoesNotAnswerAnotherObject() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let original = sampleBytes(100, seed: 41)
            let replacement = sampleBytes(100, seed: 42)
            let first = try await sessions.create(declaration("reused", original, partitionSize: 100), by: alice)
            try await harness.storage.storeAll(original, partitionSize: 100, in: first.id, by: alice)
            #expect(try await sessions.commit(first.id, by: alice, objects: objects).version == 1)
            #expect(try await objects.delete("reused", of: alice) == 1)
            let other = try await harness.storage.upload("reused", replacement, partitionSize: 100, by: alice)
            #expect(other.version == 2, "a name made again carries on its version numbers")
            do {
                let answer = try await sessions.commit(first.id, by: alice, objects: objects)
                #expect(answer.sha256 == SHA256.hash(original),
                        "re-commit of a session whose version was deleted answered another upload's version (sha256 \(hexString(answer.sha256)))")
            } catch let error as StorageError {
                #expect(error.kind == .notFound || error.kind == .failedPrecondition, "\(error)")
            }
        }
    }
}
