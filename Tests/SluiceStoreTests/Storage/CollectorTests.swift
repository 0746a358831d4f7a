import Foundation
import SluiceOpenSSL
import SluicePostgres
import SluiceStore
import Synchronization
import Testing

/// The collector reclaims what nothing uses, and nothing else.
@Suite(.timeLimit(.minutes(5))) struct CollectorTests {
    /// Collects at once: no grace for unreferenced bytes, no retention for closed sessions.
    static var eager: StorageLimits {
        var limits = StorageLimits()
        limits.blobGracePeriod = .zero
        limits.closedSessionRetention = .zero
        return limits
    }

    static func report(released: Int = 0, sessions: Int = 0, blobs: Int = 0, staging: Int = 0) -> Collector.Report {
        var report = Collector.Report()
        report.releasedPartitions = released
        report.deletedSessions = sessions
        report.deletedBlobs = blobs
        report.removedStagingFiles = staging
        return report
    }

    @Test func anAbortedSessionsBlobsAreDeleted() async throws {
        try await StorageHarness.with(limits: Self.eager) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let kept = try await storage.upload("kept", sampleBytes(1500, seed: 91), partitionSize: 1000, by: alice)
            let keptFiles = harness.blobFiles()

            let abandoned = sampleBytes(3000, seed: 92)
            let aborted = try await storage.sessions.create(declaration("gone", abandoned, partitionSize: 1000), by: alice)
            try await storage.storeAll(abandoned, partitionSize: 1000, in: aborted.id, by: alice)
            let open = try await storage.sessions.create(declaration("open", abandoned.reversed(), partitionSize: 3000), by: alice)
            _ = try await storage.sessions.storePartition(0, of: open.id, by: alice, chunks: ChunkSequence(abandoned.reversed()))
            #expect(harness.blobFiles().count == 2 + 3 + 1)
            _ = try await storage.sessions.abort(aborted.id, of: alice)
            // The abort took its 3 partitions and their bytes.
            #expect(harness.blobFiles().count == 2 + 1)

            let report = try await storage.collector.collect()
            // The aborted and the committed session deleted.
            #expect(report == Self.report(sessions: 2))
            #expect(harness.blobFiles() == (keptFiles + [harness.blobFile(scope: "p\(alice.id)", sha256: SHA256.hash(abandoned.reversed()))]).sorted())
            await expectStorageError(.notFound) { try await storage.sessions.get(aborted.id, of: alice) }
            let stillOpen = try await storage.sessions.get(open.id, of: alice)
            #expect(stillOpen.state == .open && stillOpen.storedPartitions == [0])
            #expect(try await storage.read(kept) == sampleBytes(1500, seed: 91))

            // Nothing is left to do.
            #expect(try await storage.collector.collect() == Self.report())
            // The open session still commits.
            let version = try await storage.sessions.commit(open.id, by: alice, objects: storage.objects)
            #expect(try await storage.read(version) == abandoned.reversed())
        }
    }

    @Test func anExpiredSessionLosesItsPartitions() async throws {
        var limits = Self.eager
        limits.sessionLifetime = .seconds(12)  // room for a loaded machine (4 s was not)
        limits.closedSessionRetention = .seconds(3600)
        try await StorageHarness.with(limits: limits) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let committed = try await storage.upload("committed", sampleBytes(800, seed: 93), by: alice)
            let committedFiles = harness.blobFiles()
            let bytes = sampleBytes(3000, seed: 94)
            let session = try await storage.sessions.create(declaration("expiring", bytes, partitionSize: 1000), by: alice)
            let parts = cut(bytes, partitionSize: 1000)
            for index in [0, 2] {
                _ = try await storage.sessions.storePartition(index, of: session.id, by: alice, chunks: ChunkSequence(parts[index]))
            }
            // While it is open, the collector leaves it alone.
            #expect(try await storage.collector.collect() == Self.report())
            #expect(harness.blobFiles().count == 3)

            #expect(try await eventually(timeout: .seconds(30)) { try await storage.sessions.get(session.id, of: alice).state == .expired })
            let report = try await storage.collector.collect()
            #expect(report == Self.report(released: 2, sessions: 0, blobs: 2))
            let expired = try await storage.sessions.get(session.id, of: alice)
            #expect(expired.state == .expired)
            #expect(expired.storedPartitions.isEmpty && expired.storedBytes == 0)
            #expect(harness.blobFiles() == committedFiles)
            #expect(try await storage.read(committed) == sampleBytes(800, seed: 93))

            // Past the retention, the closed sessions themselves go (the expired one and the
            // committed one), and the object stays.
            let report2 = try await harness.storage(with: Self.eager).collector.collect()
            #expect(report2 == Self.report(sessions: 2))
            await expectStorageError(.notFound) { try await storage.sessions.get(session.id, of: alice) }
            #expect(try await storage.read(try await storage.objects.version("committed", 0, of: alice)) == sampleBytes(800, seed: 93))
        }
    }

    @Test func committedBytesAreNeverDeletedUntilNothingRefersToThem() async throws {
        try await StorageHarness.with(limits: Self.eager) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let p = sampleBytes(1000, seed: 1), q = sampleBytes(1000, seed: 2), r = sampleBytes(500, seed: 3)
            let s = sampleBytes(700, seed: 4), t = sampleBytes(600, seed: 5)
            let x = try await storage.upload("x", p + q, partitionSize: 1000, by: alice)
            let y = try await storage.upload("y", p + r, partitionSize: 1000, by: alice)
            let z1 = try await storage.upload("z", s, partitionSize: 1000, by: alice)
            let z2 = try await storage.upload("z", t, partitionSize: 1000, by: alice)
            let z3 = try await storage.objects.restore("z", version: 1, of: alice)
            let file = { (bytes: [UInt8]) in harness.blobFile(scope: "p\(alice.id)", sha256: SHA256.hash(bytes)) }
            let all = [p, q, r, s, t].map(file).sorted()
            #expect(harness.blobFiles() == all)

            for pass in 0..<6 {
                let report = try await storage.collector.collect()
                #expect(report == Self.report(sessions: pass == 0 ? 4 : 0), "pass \(pass)")
                #expect(harness.blobFiles() == all, "pass \(pass)")
            }
            #expect(try await storage.read(x) == p + q)
            #expect(try await storage.read(y) == p + r)
            #expect(try await storage.read(z1) == s)
            #expect(try await storage.read(z2) == t)
            #expect(try await storage.read(z3) == s)

            // p is shared by x and y: deleting x frees only q (the delete takes it; the
            // collector finds nothing more to do).
            _ = try await storage.objects.delete("x", of: alice)
            #expect(try await storage.collector.collect() == Self.report())
            #expect(harness.blobFiles() == [p, r, s, t].map(file).sorted())
            #expect(try await storage.read(y) == p + r)

            _ = try await storage.objects.delete("y", of: alice)
            #expect(try await storage.collector.collect() == Self.report())
            #expect(harness.blobFiles() == [s, t].map(file).sorted())

            _ = try await storage.objects.delete("z", of: alice)
            #expect(try await storage.collector.collect() == Self.report())
            #expect(harness.blobFiles().isEmpty)
            #expect(try await harness.blobRows().isEmpty)
            #expect(try await storage.collector.collect() == Self.report())
        }
    }

    /// A blob row marked deleting refuses new leases until the collector has removed it; then
    /// the same bytes can be stored again.
    @Test func aBlobBeingDeletedRefusesLeasesUntilTheCollectorFinishes() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 95)
            let sha = SHA256.hash(bytes)
            try await storage.upload("first", bytes, partitionSize: 1000, by: alice)
            try await harness.holdEveryBlob()
            _ = try await storage.objects.delete("first", of: alice)
            // Unreferenced, but held by an upload in flight: bytes and row stay.
            #expect(try await storage.collector.collect() == Self.report())
            #expect(harness.blobFiles().count == 1)

            // A collector pass that marked the row and then stopped (crashed) before deleting.
            let marked = try await harness.sql(
                "UPDATE blobs SET deleting = true WHERE scope = $1 AND sha256 = $2", [.text("p\(alice.id)"), .bytes(sha)])
            #expect(marked.affectedRows == 1)

            let second = try await storage.sessions.create(declaration("second", bytes, partitionSize: 1000), by: alice)
            await expectStorageError(.aborted, mentioning: ["again"]) {
                try await storage.sessions.storePartition(0, of: second.id, by: alice, chunks: ChunkSequence(bytes))
            }
            #expect(try await storage.sessions.get(second.id, of: alice).storedPartitions.isEmpty)
            #expect(harness.stagingFiles().isEmpty)

            // The next pass finishes the deletion, held or not.
            #expect(try await storage.collector.collect() == Self.report(blobs: 1))
            #expect(harness.blobFiles().isEmpty)
            #expect(try await harness.blobRows().isEmpty)

            // Now the lease is granted and the bytes are stored again.
            let stored = try await storage.sessions.storePartition(0, of: second.id, by: alice, chunks: ChunkSequence(bytes))
            #expect(!stored.alreadyStored)
            let version = try await storage.sessions.commit(second.id, by: alice, objects: storage.objects)
            #expect(try await storage.read(version) == bytes)
            #expect(harness.blobFiles() == [harness.blobFile(scope: "p\(alice.id)", sha256: sha)])
        }
    }

    /// With a store whose deletes may outlive their call (S3 behind a congested gateway), a
    /// blob whose deletion failed in an earlier pass keeps its row as a tombstone for the
    /// fence after its bytes go: a DELETE of that pass may still arrive, so an upload of the
    /// same bytes is refused until then, and stored once the tombstone is forgotten.
    @Test func aBlobWhoseDeletionFailedBeforeIsFencedAfterItsBytesGo() async throws {
        var limits = StorageLimits()
        limits.lingeringDeleteFence = .seconds(8)  // room for a loaded machine (2 s was not)
        try await StorageHarness.with(limits: limits) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 96)
            let sha = SHA256.hash(bytes)
            try await storage.upload("first", bytes, partitionSize: 1000, by: alice)
            try await harness.holdEveryBlob()
            _ = try await storage.objects.delete("first", of: alice)
            #expect(try await storage.collector.collect() == Self.report())
            // A pass that marked the row, sent its DELETE, and failed (the DELETE timed out).
            _ = try await harness.sql(
                "UPDATE blobs SET deleting = true WHERE scope = $1 AND sha256 = $2", [.text("p\(alice.id)"), .bytes(sha)])

            #expect(try await storage.collector.collect() == Self.report(blobs: 1))
            #expect(harness.blobFiles().isEmpty)
            #expect(try await harness.blobRows().count == 1)
            let second = try await storage.sessions.create(declaration("second", bytes, partitionSize: 1000), by: alice)
            await expectStorageError(.aborted, mentioning: ["again"]) {
                try await storage.sessions.storePartition(0, of: second.id, by: alice, chunks: ChunkSequence(bytes))
            }
            // A pass within the fence neither deletes the bytes again nor forgets the row.
            #expect(try await storage.collector.collect() == Self.report())
            #expect(try await harness.blobRows().count == 1)

            try await Task.sleep(for: .milliseconds(8500))
            #expect(try await storage.collector.collect() == Self.report())
            #expect(try await harness.blobRows().isEmpty)
            let stored = try await storage.sessions.storePartition(0, of: second.id, by: alice, chunks: ChunkSequence(bytes))
            #expect(!stored.alreadyStored)
            let version = try await storage.sessions.commit(second.id, by: alice, objects: storage.objects)
            #expect(try await storage.read(version) == bytes)
        }
    }

    /// The collector marks a blob deleting while an upload of identical bytes is in flight:
    /// the upload is refused when it would record the partition, and the bytes go.
    @Test func aBlobMarkedDuringAnUploadRefusesThePartition() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 96)
            let session = try await storage.sessions.create(declaration("racing", bytes, partitionSize: 1000), by: alice)
            let gate = Gate()
            let upload = Task {
                try await storage.sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(bytes, pieceSize: 100, gate: gate))
            }
            await gate.firstPieceTaken.wait()
            try await harness.sql("UPDATE blobs SET deleting = true")
            gate.proceed.open()
            await expectStorageError(.aborted, mentioning: ["partition 0", "again"]) { try await upload.value }
            #expect(try await storage.sessions.get(session.id, of: alice).storedPartitions.isEmpty)

            // The refused upload finished the deletion as it gave its hold back.
            #expect(try await storage.collector.collect() == Self.report())
            #expect(harness.blobFiles().isEmpty)
            #expect(try await harness.blobRows().isEmpty)
            _ = try await storage.sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(bytes))
            let version = try await storage.sessions.commit(session.id, by: alice, objects: storage.objects)
            #expect(try await storage.read(version) == bytes)
        }
    }

    /// The collector deleted the row of a blob whose lease ran out while its bytes arrived (as
    /// it does once the lease is older than the grace period): the upload is refused as a lost
    /// lease, asked to send again, never failed as a broken reference.
    @Test func aLeaseTheCollectorTookRefusesThePartition() async throws {
        try await StorageHarness.with { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 98)
            let session = try await storage.sessions.create(declaration("lapsed", bytes, partitionSize: 1000), by: alice)
            let gate = Gate()
            let upload = Task {
                try await storage.sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(bytes, pieceSize: 100, gate: gate))
            }
            await gate.firstPieceTaken.wait()
            #expect(try await harness.sql("DELETE FROM blobs").affectedRows == 1)
            gate.proceed.open()
            await expectStorageError(.aborted, mentioning: ["partition 0", "grace period", "again"]) { try await upload.value }
            #expect(try await storage.sessions.get(session.id, of: alice).storedPartitions.isEmpty)
            _ = try await storage.sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(bytes))
            let version = try await storage.sessions.commit(session.id, by: alice, objects: storage.objects)
            #expect(try await storage.read(version) == bytes)
        }
    }

    /// A partition whose bytes take longer to arrive than the grace period keeps its lease (it
    /// is renewed as they arrive) while the collector runs all along.
    @Test func aSlowPartitionKeepsItsLease() async throws {
        var limits = StorageLimits()
        limits.blobGracePeriod = .milliseconds(1500)
        try await StorageHarness.with(limits: limits) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(1000, seed: 99)
            let session = try await storage.sessions.create(declaration("slow", bytes, partitionSize: 1000), by: alice)
            let collecting = Task {
                while !Task.isCancelled {
                    _ = try? await storage.collector.collect()
                    try? await Task.sleep(for: .milliseconds(100))
                }
            }
            // Ten pieces 500 ms apart: three grace periods from the first byte to the last.
            let stored = try await storage.sessions.storePartition(
                0, of: session.id, by: alice, chunks: PacedChunks(pieces: cut(bytes, partitionSize: 100), pause: .milliseconds(500)))
            collecting.cancel()
            #expect(!stored.alreadyStored)
            let version = try await storage.sessions.commit(session.id, by: alice, objects: storage.objects)
            #expect(try await storage.read(version) == bytes)
        }
    }

    /// A partition upload cut off midway (its chunk sequence throws, as when the connection
    /// drops) records nothing, and what it left is reclaimed; so is the staging file of a
    /// writer that was never finished nor aborted (a crashed process).
    @Test func anInterruptedUploadLeavesNothingBehind() async throws {
        try await StorageHarness.with(limits: Self.eager) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(2000, seed: 97)
            let parts = cut(bytes, partitionSize: 1000)
            let session = try await storage.sessions.create(declaration("interrupted", bytes, partitionSize: 1000), by: alice)
            await #expect(throws: InterruptedUpload.self) {
                try await storage.sessions.storePartition(
                    0, of: session.id, by: alice, chunks: ChunkSequence(parts[0], pieceSize: 100, failAfter: 4))
            }
            #expect(try await storage.sessions.get(session.id, of: alice).storedPartitions.isEmpty)
            #expect(try await harness.sql("SELECT count(*)::bigint AS n FROM session_partitions").rows[0].int("n") == 0)
            #expect(harness.blobFiles().isEmpty)

            // A writer left behind by a crash: staged bytes, never finished nor aborted, by a
            // process that no longer holds them (a second store on the same root).
            let key = try BlobKey(scope: "p\(alice.id)", sha256: SHA256.hash(parts[1]))
            let crashed = try await DiskBlobStore(root: harness.blobRoot).makeWriter(for: key, size: 1000)
            try await crashed.write(Array(parts[1][0..<400]))
            #expect(harness.stagingFiles().count == 1)

            // Within a grace period, staging is left alone (an upload may still be writing).
            let patient = try await harness.storage(with: StorageLimits()).collector.collect()
            #expect(patient.removedStagingFiles == 0)
            #expect(harness.stagingFiles().count == 1)

            try await Task.sleep(for: .milliseconds(20))
            let report = try await storage.collector.collect()
            #expect(report.removedStagingFiles == 1)
            // The row the interrupted upload's lease made (its bytes never reached the store)
            // held nothing once the upload gave its hold back: the first pass takes it.
            #expect(patient.deletedBlobs == 1 && report.deletedBlobs == 0)
            #expect(harness.stagingFiles().isEmpty)
            #expect(harness.blobFiles().isEmpty)
            #expect(try await harness.blobRows().isEmpty)
            await crashed.abort()

            // The session carries on.
            try await storage.storeAll(bytes, partitionSize: 1000, in: session.id, by: alice)
            let version = try await storage.sessions.commit(session.id, by: alice, objects: storage.objects)
            #expect(try await storage.read(version) == bytes)
        }
    }

    /// A blob file with no row (a delete the file system lost in a crash: DiskBlobStore.delete
    /// does not sync the directory, "which the collector finds again") must be swept by the
    /// collector once it is older than the grace period; blobs with rows stay.
    @Test func aBlobFileTheDatabaseDoesNotKnowIsSwept() async throws {
        try await StorageHarness.with(limits: Self.eager) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let live = try await storage.upload("live", sampleBytes(1000, seed: 98), by: alice)
            let liveFiles = harness.blobFiles()

            let orphan = sampleBytes(1000, seed: 99)
            let key = try BlobKey(scope: "p\(alice.id)", sha256: SHA256.hash(orphan))
            let writer = try await harness.blobs.makeWriter(for: key, size: 1000)
            try await writer.write(orphan)
            try await writer.finish()
            let path = harness.blobRoot.appendingPathComponent("blobs/" + harness.blobFile(scope: key.scope, sha256: key.sha256)).path
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: path)
            #expect(harness.blobFiles().count == 2)

            for _ in 0..<2 { _ = try await storage.collector.collect() }
            #expect(harness.blobFiles() == liveFiles, "an unreferenced blob file with no row was never collected")
            #expect(try await storage.read(live) == sampleBytes(1000, seed: 98))
        }
    }

    /// A commit that has locked its session (still open) but not yet copied its partitions,
    /// while the session reaches its expiry and a collector pass runs: the result must be
    /// either a refused commit or a complete version whose bytes stay — never a version
    /// without its partitions, nor one whose blobs the collector deleted.
    ///
    /// The commit is held inside its transaction by an EXCLUSIVE lock on `objects` taken from
    /// another connection (its first write, the INSERT INTO objects, waits for it).
    @Test func aCommitRacingExpiryAndTheCollectorNeverMakesAHalfObject() async throws {
        var limits = Self.eager
        // Long enough to store the partitions however loaded the machine; the session is
        // brought to its expiry below, once they are stored.
        limits.sessionLifetime = .seconds(600)
        limits.closedSessionRetention = .seconds(3600)
        try await StorageHarness.with(limits: limits, poolSize: 6) { harness in
            let storage = harness.storage
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(3000, seed: 100)
            let session = try await storage.sessions.create(declaration("racing", bytes, partitionSize: 1000), by: alice)
            try await storage.storeAll(bytes, partitionSize: 1000, in: session.id, by: alice)
            _ = try await harness.sql(
                "UPDATE upload_sessions SET expires_at = now() + interval '3 seconds' WHERE id = $1",
                [.bytes(session.id.bytes)])

            let locked = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            let locker = Task {
                try await harness.pool.transaction { connection in
                    try connection.execute("LOCK TABLE objects IN EXCLUSIVE MODE")
                    locked.signal()
                    _ = release.wait(timeout: .now() + 30)
                }
            }
            defer { release.signal() }
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    locked.wait()
                    continuation.resume()
                }
            }
            let committing = Task { try await storage.sessions.commit(session.id, by: alice, objects: storage.objects) }
            let blocked = try await eventually {
                try await harness.sql("""
                    SELECT count(*)::bigint AS n FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock'
                    """).rows[0].int("n") >= 1
            }
            try #require(blocked, "the commit never waited for the lock on objects")

            // The session expires while its commit waits; a collector pass runs meanwhile.
            let expired = try await eventually { try await storage.sessions.get(session.id, of: alice).state == .expired }
            #expect(expired)
            let collector = storage.collector
            let collecting = Task { try await collector.collect() }
            let finished = Flag()
            Task {
                _ = try? await collecting.value
                finished.set()
            }
            _ = try await eventually(timeout: .seconds(2)) { finished.isSet }
            release.signal()
            try await locker.value
            _ = try await collecting.value

            do {
                let version = try await committing.value
                #expect(version.partitions.count == 3, "the commit made version \(version.version) with \(version.partitions.count) of 3 partitions")
                #expect(try await storage.read(version) == bytes)
                _ = try await storage.collector.collect()
                let again = try await storage.objects.version("racing", 0, of: alice)
                #expect(again.partitions.count == 3)
                #expect(try await storage.read(again) == bytes)
                #expect(harness.blobFiles().count == 3)
            } catch let error as StorageError {
                #expect(error.kind == .failedPrecondition || error.kind == .aborted, "\(error)")
                await expectStorageError(.notFound) { try await storage.objects.version("racing", 0, of: alice) }
            }
        }
    }

    @Test func runPassesUntilCancelled() async throws {
        try await StorageHarness.with(limits: Self.eager) { harness in
            let log = PassLog()
            let collector = harness.storage.collector
            let running = Task {
                await collector.run(every: .milliseconds(20)) { result in log.record(result) }
            }
            let passed = try await eventually { log.passes >= 3 }
            #expect(passed)
            running.cancel()
            await running.value
            #expect(log.failures.isEmpty)
        }
    }
}

/// A flag set from one task and read from another.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

/// What `Collector.run` reported, from its callback.
final class PassLog: Sendable {
    private let state = Mutex<(passes: Int, failures: [String])>((0, []))

    func record(_ result: Result<Collector.Report, any Error>) {
        state.withLock { state in
            switch result {
            case .success: state.passes += 1
            case .failure(let error): state.failures.append("\(error)")
            }
        }
    }

    var passes: Int { state.withLock { $0.passes } }
    var failures: [String] { state.withLock { $0.failures } }
}

/// Pieces that arrive `pause` apart, as from a slow link.
private struct PacedChunks: AsyncSequence, Sendable {
    let pieces: [[UInt8]]
    let pause: Duration

    struct AsyncIterator: AsyncIteratorProtocol {
        let pieces: [[UInt8]]
        let pause: Duration
        var position = 0

        mutating func next() async throws -> [UInt8]? {
            guard position < pieces.count else { return nil }
            if position > 0 { try await Task.sleep(for: pause) }
            defer { position += 1 }
            return pieces[position]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pieces: pieces, pause: pause) }
}
