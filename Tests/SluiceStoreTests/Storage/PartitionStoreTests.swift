import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import Testing

/// Storing partitions into upload sessions.
@Suite(.timeLimit(.minutes(5))) struct PartitionStoreTests {
    /// 4 full partitions of 1024 bytes and a short last one of 300.
    static let partitionSize = 1024
    static let bytes = sampleBytes(4 * 1024 + 300, seed: 11)
    static var partitions: [[UInt8]] { cut(bytes, partitionSize: partitionSize) }

    func open(_ harness: StorageHarness, _ principal: Principal, name: String = "doc") async throws -> SessionRecord {
        try await harness.storage.sessions.create(
            declaration(name, Self.bytes, partitionSize: Self.partitionSize), by: principal)
    }

    @Test func outOfOrderParallelStoresThenCommit() async throws {
        try await StorageHarness.with(poolSize: 6) { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await open(harness, alice)
            #expect(session.partitionCount == 5)
            let partitions = Self.partitions
            let results = try await withThrowingTaskGroup(of: PartitionUploadResult.self) { group in
                for index in [4, 2, 0, 3, 1] {
                    group.addTask {
                        try await sessions.storePartition(
                            index, of: session.id, by: alice, chunks: ChunkSequence(partitions[index], pieceSize: 100 + index * 37))
                    }
                }
                var results: [PartitionUploadResult] = []
                for try await result in group { results.append(result) }
                return results
            }
            for result in results {
                #expect(!result.alreadyStored)
                #expect(result.size == Int64(partitions[result.index].count))
                #expect(result.sha256 == SHA256.hash(partitions[result.index]))
            }
            #expect(Set(results.map(\.index)) == [0, 1, 2, 3, 4])

            let stored = try await sessions.get(session.id, of: alice)
            #expect(stored.state == .open)
            #expect(stored.storedPartitions == [0, 1, 2, 3, 4])
            #expect(stored.storedBytes == Int64(Self.bytes.count))
            #expect(harness.stagingFiles().isEmpty)
            #expect(harness.blobFiles().count == 5)
            // The blob rows the partitions leased (with their session's row, in one statement)
            // carry the owner's scope and each partition's own size, the short last one's too.
            let rows = try await harness.sql("SELECT scope, size FROM blobs ORDER BY size, sha256").rows
            #expect(try rows.map { try $0.string("scope") } == Array(repeating: "p\(alice.id)", count: 5))
            #expect(try rows.map { try $0.int("size") } == [300, 1024, 1024, 1024, 1024])

            let version = try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            #expect(version.version == 1)
            // Out of order, the commit reads nothing and leaves the whole hash to the verifier.
            #expect(version.compositeSHA256 == CompositeHash.of(partitions.map { SHA256.hash($0) }))
            _ = try await sessions.wholeHashes.verifyPending()
            let settled = try await harness.storage.objects.version(version.name, version.version, of: alice)
            #expect(settled.sha256 == SHA256.hash(Self.bytes) && [.verified, .undeclared].contains(settled.sha256State))
            #expect(try await harness.storage.read(version) == Self.bytes)
        }
    }

    @Test func progressIsVisibleAndReStoringAnswersAlreadyStored() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await open(harness, alice)
            let partitions = Self.partitions
            let first = try await sessions.storePartition(4, of: session.id, by: alice, chunks: ChunkSequence(partitions[4]))
            #expect(first.index == 4 && first.size == 300 && first.sha256 == SHA256.hash(partitions[4]) && !first.alreadyStored)
            _ = try await sessions.storePartition(1, of: session.id, by: alice, chunks: ChunkSequence(partitions[1]))
            let progress = try await sessions.get(session.id, of: alice)
            #expect(progress.storedPartitions == [1, 4])
            #expect(progress.storedBytes == 1024 + 300)

            let again = try await sessions.storePartition(4, of: session.id, by: alice, chunks: ChunkSequence(partitions[4]))
            #expect(again.index == 4 && again.size == 300 && again.sha256 == SHA256.hash(partitions[4]) && again.alreadyStored)
            #expect(try await sessions.get(session.id, of: alice).storedPartitions == [1, 4])
            #expect(harness.blobFiles().count == 2)
        }
    }

    /// A stored partition sent again is answered already_stored only when the bytes sent are
    /// the declared ones; other bytes are refused as on a first upload, and the stored copy
    /// stays (it is intact and still referenced).
    @Test func aStoredPartitionSentAgainIsCheckedAgainstItsDeclaration() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await open(harness, alice)
            let partitions = Self.partitions
            _ = try await sessions.storePartition(2, of: session.id, by: alice, chunks: ChunkSequence(partitions[2]))
            var wrong = partitions[2]
            wrong[500] ^= 0x01

            await expectStorageError(.dataLoss, mentioning: ["partition 2", hexString(SHA256.hash(partitions[2]))]) {
                try await sessions.storePartition(2, of: session.id, by: alice, chunks: ChunkSequence(wrong, pieceSize: 333))
            }
            await expectStorageError(.invalidArgument, mentioning: ["partition 2", "1024", "4"]) {
                try await sessions.storePartition(2, of: session.id, by: alice, chunks: ChunkSequence(Array("abcd".utf8)))
            }
            await expectStorageError(.invalidArgument, mentioning: ["partition 2", "1024"]) {
                try await sessions.storePartition(2, of: session.id, by: alice, chunks: ChunkSequence(partitions[2] + [0]))
            }
            let again = try await sessions.storePartition(
                2, of: session.id, by: alice, chunks: ChunkSequence(partitions[2], pieceSize: 100))
            #expect(again.alreadyStored && again.sha256 == SHA256.hash(partitions[2]))
            #expect(try await sessions.get(session.id, of: alice).storedPartitions == [2])
            #expect(harness.blobFiles() == [harness.blobFile(scope: "p\(alice.id)", sha256: SHA256.hash(partitions[2]))])
            #expect(harness.stagingFiles().isEmpty)
        }
    }

    @Test func wrongBytesAreDataLossAndNothingIsRecorded() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await open(harness, alice)
            let partitions = Self.partitions
            var wrong = partitions[2]
            wrong[500] ^= 0x01
            await expectStorageError(.dataLoss, mentioning: ["partition 2", hexString(SHA256.hash(partitions[2]))]) {
                try await sessions.storePartition(2, of: session.id, by: alice, chunks: ChunkSequence(wrong, pieceSize: 333))
            }
            let after = try await sessions.get(session.id, of: alice)
            #expect(after.storedPartitions.isEmpty)
            #expect(after.storedBytes == 0)
            #expect(harness.blobFiles().isEmpty)
            #expect(harness.stagingFiles().isEmpty)
            #expect(try await harness.sql("SELECT count(*)::bigint AS n FROM session_partitions").rows[0].int("n") == 0)

            // The right bytes then work.
            let result = try await sessions.storePartition(2, of: session.id, by: alice, chunks: ChunkSequence(partitions[2]))
            #expect(!result.alreadyStored)
            #expect(try await sessions.get(session.id, of: alice).storedPartitions == [2])
            #expect(harness.blobFiles() == [harness.blobFile(scope: "p\(alice.id)", sha256: SHA256.hash(partitions[2]))])
        }
    }

    @Test func tooFewOrTooManyBytesAreInvalidArgument() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await open(harness, alice)
            let partitions = Self.partitions
            await expectStorageError(.invalidArgument, mentioning: ["partition 1", "1024", "1023"]) {
                try await sessions.storePartition(1, of: session.id, by: alice, chunks: ChunkSequence(Array(partitions[1].dropLast())))
            }
            await expectStorageError(.invalidArgument, mentioning: ["partition 1", "1024"]) {
                try await sessions.storePartition(1, of: session.id, by: alice, chunks: ChunkSequence(partitions[1] + [0], pieceSize: 512))
            }
            await expectStorageError(.invalidArgument, mentioning: ["partition 4", "300"]) {
                try await sessions.storePartition(4, of: session.id, by: alice, chunks: ChunkSequence(partitions[3]))
            }
            await expectStorageError(.invalidArgument, mentioning: ["partition 0"]) {
                try await sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence([]))
            }
            #expect(try await sessions.get(session.id, of: alice).storedPartitions.isEmpty)
            #expect(harness.stagingFiles().isEmpty)
            #expect(harness.blobFiles().isEmpty)
            _ = try await sessions.storePartition(1, of: session.id, by: alice, chunks: ChunkSequence(partitions[1]))
            #expect(try await sessions.get(session.id, of: alice).storedPartitions == [1])
        }
    }

    @Test func indexOutOfRangeIsInvalidArgument() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await open(harness, alice)
            for index in [-1, 5, 6, Int.max] {
                await expectStorageError(.invalidArgument, mentioning: ["partition_index", "\(index)", "0 to 4"]) {
                    try await sessions.storePartition(index, of: session.id, by: alice, chunks: ChunkSequence(Self.partitions[0]))
                }
            }
            #expect(try await sessions.get(session.id, of: alice).storedPartitions.isEmpty)
        }
    }

    @Test func storingIntoACommittedOrAbortedSessionIsFailedPrecondition() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let small = sampleBytes(10, seed: 3)

            let committed = try await sessions.create(declaration("c", small, partitionSize: 10), by: alice)
            _ = try await sessions.storePartition(0, of: committed.id, by: alice, chunks: ChunkSequence(small))
            _ = try await sessions.commit(committed.id, by: alice, objects: harness.storage.objects)
            await expectStorageError(.failedPrecondition, mentioning: ["committed", "\(committed.id)"]) {
                try await sessions.storePartition(0, of: committed.id, by: alice, chunks: ChunkSequence(small))
            }

            let aborted = try await sessions.create(declaration("a", small + small, partitionSize: 10), by: alice)
            _ = try await sessions.storePartition(0, of: aborted.id, by: alice, chunks: ChunkSequence(small))
            #expect(try await sessions.abort(aborted.id, of: alice).state == .aborted)
            #expect(try await sessions.abort(aborted.id, of: alice).state == .aborted)  // idempotent
            await expectStorageError(.failedPrecondition, mentioning: ["aborted"]) {
                try await sessions.storePartition(1, of: aborted.id, by: alice, chunks: ChunkSequence(small))
            }
            // Also for a partition stored before the abort: no "already stored" for a closed session.
            await expectStorageError(.failedPrecondition, mentioning: ["aborted"]) {
                try await sessions.storePartition(0, of: aborted.id, by: alice, chunks: ChunkSequence(small))
            }
            await expectStorageError(.failedPrecondition, mentioning: ["committed"]) {
                try await sessions.abort(committed.id, of: alice)
            }
            await expectStorageError(.failedPrecondition, mentioning: ["aborted"]) {
                try await sessions.commit(aborted.id, by: alice, objects: harness.storage.objects)
            }
        }
    }

    @Test func storingIntoAnExpiredSessionIsFailedPrecondition() async throws {
        var limits = StorageLimits()
        // Long enough for the first partition to be stored on a loaded machine, short
        // enough to wait out.
        limits.sessionLifetime = .seconds(4)
        try await StorageHarness.with(limits: limits) { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let small = sampleBytes(20, seed: 5)
            let session = try await sessions.create(declaration("x", small, partitionSize: 10), by: alice)
            _ = try await sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(Array(small[0..<10])))
            #expect(try await eventually { try await sessions.get(session.id, of: alice).state == .expired })
            await expectStorageError(.failedPrecondition, mentioning: ["expired"]) {
                try await sessions.storePartition(1, of: session.id, by: alice, chunks: ChunkSequence(Array(small[10...])))
            }
            await expectStorageError(.failedPrecondition, mentioning: ["expired"]) {
                try await sessions.commit(session.id, by: alice, objects: harness.storage.objects)
            }
            #expect(try await sessions.get(session.id, of: alice).storedPartitions == [0])
        }
    }

    /// A session aborted while one of its partitions is on its way: the partition is refused
    /// when it would be recorded.
    @Test func abortDuringAnUploadRefusesThePartition() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await open(harness, alice)
            let gate = Gate()
            let partition = Self.partitions[0]
            let upload = Task {
                try await sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(partition, pieceSize: 256, gate: gate))
            }
            await gate.firstPieceTaken.wait()
            _ = try await sessions.abort(session.id, of: alice)
            gate.proceed.open()
            await expectStorageError(.failedPrecondition, mentioning: ["partition 0"]) { try await upload.value }
            #expect(try await sessions.get(session.id, of: alice).storedPartitions.isEmpty)
            #expect(harness.stagingFiles().isEmpty)
        }
    }

    /// A blob store whose file system fails is the server's fault: the failure stays the
    /// store's own error (the server log sees its path and errno, the client an internal
    /// error), never a refusal that names the server's paths and invites sending again.
    @Test func aFailingFileSystemIsNotTheClientsRefusal() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let session = try await open(harness, alice)
            let staging = harness.blobRoot.appendingPathComponent("staging")
            try FileManager.default.removeItem(at: staging)
            #expect(FileManager.default.createFile(atPath: staging.path, contents: Data()))
            await #expect {
                try await sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(Self.partitions[0]))
            } throws: { error in
                guard case BlobError.io = error else { return false }
                return true
            }
            #expect(try await sessions.get(session.id, of: alice).storedPartitions.isEmpty)
        }
    }

    @Test func anotherPrincipalsSessionIsNotFound() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            let session = try await open(harness, alice)
            let partitions = Self.partitions
            await expectStorageError(.notFound, mentioning: ["\(session.id)"]) {
                try await sessions.storePartition(0, of: session.id, by: bob, chunks: ChunkSequence(partitions[0]))
            }
            await expectStorageError(.notFound) {
                try await sessions.storePartition(0, of: SessionID.random(), by: alice, chunks: ChunkSequence(partitions[0]))
            }
            #expect(try await sessions.get(session.id, of: alice).storedPartitions.isEmpty)
            #expect(harness.blobFiles().isEmpty)
            #expect(harness.stagingFiles().isEmpty)
        }
    }
}
