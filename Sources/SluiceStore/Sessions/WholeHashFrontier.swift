import SluiceOpenSSL
import SluicePostgres
import Synchronization

/// Advances an open session's in-order whole-object SHA-256 over partitions that are
/// already stored, while the upload still runs.
///
/// A partition that arrives when every partition before it is hashed extends the hash as its
/// bytes stream through (``UploadSessions/storePartition(_:of:by:chunks:)``). In a parallel
/// upload most arrive ahead of that point, and the hash used to stop at the first gap until
/// the commit, after which the ``WholeHashVerifier`` read the whole object back while the
/// client waited for its hash. This reads a stored partition back (checked against its own
/// hash, as the verifier does) as soon as the gap before it closes, so at the commit the whole
/// hash is usually done: the version is settled at once, or only its last partitions remain for
/// the verifier, which resumes from the session's state instead of starting over.
///
/// Best effort and bounded: at most ``maxRunning`` sessions advance at once in a process, and a
/// session asked for meanwhile is left to the next partition it stores or to the verifier.
/// Progress is saved in the session row only where the hash still stands where this read it,
/// so two advancers (or an advancer and an arriving partition, in any instance) never both
/// extend it; the loser's work is dropped.
public final class WholeHashFrontier: Sendable {
    let database: PostgresPool
    let blobs: any BlobStore
    let ledger: DamageLedger
    /// The advances running in this process, and whether each was asked for again meanwhile.
    private let running = Mutex([SessionID: Advance]())

    private struct Advance {
        var task: Task<Void, Never>
        var again = false
    }

    /// Sessions advancing at once: each reads from storage and hashes on two threads.
    static let maxRunning = 2
    /// Partitions read per look at the session.
    static let partitionsPerRun = 64
    /// Bytes hashed between saves of the state, so that a commit arriving meanwhile finds
    /// most of the work kept.
    static let bytesPerSave: Int64 = 8 << 20

    init(database: PostgresPool, blobs: any BlobStore, ledger: DamageLedger) {
        self.database = database
        self.blobs = blobs
        self.ledger = ledger
    }

    /// Whether the session's hash has a worthwhile run to advance over, for a partition's
    /// record to ask in its own round trip: the partition the hash needs next is stored, and so
    /// are a whole run of partitions (``partitionsPerRun``), or ``bytesPerSave``, or everything
    /// the hash has left. Small partitions are then read back a run at a time, with one look at
    /// the session and one save per run, rather than one (and a lock on the session row) per
    /// partition. Reads at most a run's rows: an upload's records do not grow with its size.
    static func readiness(of id: SessionID) -> PostgresStatement {
        PostgresStatement("""
            SELECT count(*) AS stored, coalesce(sum(size), 0) AS stored_bytes,
                coalesce(bool_or(index = hashed_through), false) AS next_stored, max(unhashed) AS unhashed
            FROM (
                SELECT sp.index, sp.size, s.whole_hashed_through AS hashed_through,
                    s.total_size - s.whole_hashed_through::bigint * s.partition_size AS unhashed
                FROM upload_sessions s
                JOIN session_partitions sp ON sp.session_id = s.id AND sp.index >= s.whole_hashed_through
                WHERE s.id = $1 ORDER BY sp.index LIMIT $2
            ) ahead
            """, [.bytes(id.bytes), .int(Int64(partitionsPerRun))])
    }

    /// Reads the answer to ``readiness(of:)``.
    static func isReady(_ answer: PostgresResult) throws -> Bool {
        guard let row = answer.rows.first, try row.bool("next_stored") else { return false }
        let storedBytes = try row.int("stored_bytes")
        return try row.int("stored") == Int64(partitionsPerRun) || storedBytes >= bytesPerSave
            || storedBytes == row.int("unhashed")
    }

    /// Starts advancing the session's hash in the background, unless it is advancing already
    /// (then it looks again when it is done) or ``maxRunning`` others are.
    func wake(_ id: SessionID) {
        running.withLock { advances in
            if advances[id] != nil {
                advances[id]?.again = true
                return
            }
            guard advances.count < Self.maxRunning else { return }
            // Made under the lock, so that the entry never lacks its task (``quiesce`` waits
            // on it); the task takes the lock only once it runs, on another thread.
            advances[id] = Advance(task: Task.detached { [self] in
                repeat {
                    await advance(id)
                } while running.withLock { advances in
                    let again = advances[id]?.again ?? false
                    if again { advances[id]?.again = false } else { advances[id] = nil }
                    return again
                }
            })
        }
    }

    /// Waits until no advance of the session runs in this process, so that its saved state is
    /// final for the caller (the verifier, resuming from it).
    func quiesce(_ id: SessionID) async {
        while let task = running.withLock({ $0[id]?.task }) {
            await task.value
        }
    }

    /// Extends the hash over the stored partitions that follow it, run by run, until it reaches
    /// a partition not stored yet, the end, or a failure (damaged bytes, the database): those
    /// leave the hash where it was saved last.
    private func advance(_ id: SessionID) async {
        while !Task.isCancelled {
            guard let run = try? await storedRun(of: id), !run.partitions.isEmpty,
                  let start = run.through == 0 ? ResumableSHA256() : run.state.flatMap(ResumableSHA256.init(exported:))
            else { return }
            var whole = start
            var saved = run.through
            var batch: [PartitionRecord] = []
            var batchBytes: Int64 = 0
            let extending = WholeHashExtension(blobs: blobs, ledger: ledger, object: "upload session \(id)")
            for (offset, partition) in run.partitions.enumerated() {
                batch.append(partition)
                batchBytes += partition.size
                guard batchBytes >= Self.bytesPerSave || offset == run.partitions.count - 1 else { continue }
                guard let extended = try? await extending.extend(whole, over: batch),
                      (try? await save(extended, of: id, from: saved, to: saved + batch.count)) == true
                else { return }
                whole = extended
                saved += batch.count
                batch = []
                batchBytes = 0
            }
        }
    }

    /// The hash's saved state and the stored partitions that follow it without a gap.
    private func storedRun(of id: SessionID) async throws
        -> (through: Int, state: [UInt8]?, partitions: [PartitionRecord])
    {
        try await database.withConnection { connection in
            let answers = try connection.execute(pipeline: [
                PostgresStatement("""
                    SELECT whole_hashed_through, whole_hash_state FROM upload_sessions
                    WHERE id = $1 AND state = 'open'
                    """, [.bytes(id.bytes)]),
                PostgresStatement("""
                    SELECT sp.index, sp.index::bigint * s.partition_size AS "offset", sp.size, sp.sha256,
                        sp.blob_scope, \(DamagedBlobs.recordedColumn(scope: "sp.blob_scope", sha256: "sp.sha256"))
                    FROM upload_sessions s JOIN session_partitions sp ON sp.session_id = s.id
                    WHERE s.id = $1 AND s.state = 'open'
                        AND sp.index >= s.whole_hashed_through AND sp.index < s.whole_hashed_through + $2
                    ORDER BY sp.index
                    """, [.bytes(id.bytes), .int(Int64(Self.partitionsPerRun))]),
            ])
            guard let session = answers[0].rows.first else { return (0, nil, []) }
            let through = Int(try session.int("whole_hashed_through"))
            let stored = try answers[1].rows.map(ObjectCatalog.partition(from:))
            // Only the partitions that follow the hash without a gap can extend it.
            let run = stored.enumerated().prefix { $0.offset + through == $0.element.index }.map(\.element)
            return (through, try session.optionalBytes("whole_hash_state"), run)
        }
    }

    /// Saves the hash over partitions `0 ..< to`, if it still stands at `from`; whether it did.
    /// The session may have been committed meanwhile: the verifier resumes from what is saved.
    private func save(_ whole: ResumableSHA256, of id: SessionID, from: Int, to: Int) async throws -> Bool {
        try await database.withConnection { connection in
            try connection.execute("""
                UPDATE upload_sessions SET whole_hash_state = $3, whole_hashed_through = $4
                WHERE id = $1 AND whole_hashed_through = $2
                """, [.bytes(id.bytes), .int(Int64(from)), .bytes(whole.exported()), .int(Int64(to))]).affectedRows == 1
        }
    }
}
