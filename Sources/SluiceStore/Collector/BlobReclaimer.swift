import Foundation
import SluiceDuration
import SluicePostgres

/// Deletes the blobs nothing keeps: no partition of a session or a version refers to them and
/// no upload holds them (``BlobHold``). A blob's bytes go only after its row is marked
/// deleting, so that no upload can lease them meanwhile, and its row only after its bytes.
///
/// Several reclaimers may run at once (the collector, aborts, deletes, other instances). The
/// one that marks a row claims it, and only that one forgets it; another takes the row over
/// only once the claim is older than ``takeoverAfter`` (its reclaimer stopped halfway). Were
/// a second one to take over a row still being deleted, the first would forget the row while
/// the second's DELETE was on its way, and that DELETE would take the bytes of an upload made
/// in between. The claim is renewed right before each blob's delete, which the store then
/// makes only within ``deleteWindow`` of that renewal (a delete stuck behind a stalled disk
/// is dropped, not made late), so no delete of a claim can be under way once it is taken over.
///
/// The collector runs it over every blob on each pass; an abort and a delete run it at once
/// over the blobs they let go, so that what a principal stops using leaves the disk with it
/// (otherwise uploading a quota's worth, aborting and repeating filled the disk).
struct BlobReclaimer: Sendable {
    let database: PostgresPool
    let blobs: any BlobStore
    let limits: StorageLimits

    static let batchSize = 200

    /// How long after renewing its claim a reclaimer may still start the blob's delete: the
    /// store's lingering-delete fence (so that an S3 request and its retries fit) and 20 s.
    var deleteWindow: Duration { limits.lingeringDeleteFence + .seconds(20) }

    /// How old a claim must be before another reclaimer takes its row over: past the delete
    /// window, a request started at its end has had the fence to end too, with 10 s to spare.
    var takeoverAfter: Duration { deleteWindow + limits.lingeringDeleteFence + .seconds(10) }

    /// How many of a batch's blobs are deleted at once (an S3 DELETE is a round trip).
    static let parallelDeletes = 8

    /// Reclaims every blob nothing keeps, or with `keys`, those among them; answers how many.
    func reclaim(among keys: [BlobKey]? = nil) async throws -> Int {
        guard let keys else {
            var reclaimed = 0
            while true {
                let batch = try await reclaimBatch(among: nil)
                reclaimed += batch.reclaimed
                if batch.candidates < Self.batchSize { return reclaimed }
            }
        }
        var reclaimed = 0
        let distinct = Array(Set(keys))
        for start in stride(from: 0, to: distinct.count, by: Self.batchSize) {
            let batch = Array(distinct[start..<min(start + Self.batchSize, distinct.count)])
            reclaimed += try await reclaimBatch(among: batch).reclaimed
        }
        return reclaimed
    }

    /// Reclaims in a task of its own, so that a caller that gives up (a deadline, a cancel) does
    /// not stop it halfway; what this leaves (a failure, a blob locked right now) waits for the
    /// collector's next pass.
    func reclaimRegardless(among keys: [BlobKey]) async {
        guard !keys.isEmpty else { return }
        await Task { _ = try? await self.reclaim(among: keys) }.value
    }

    private func reclaimBatch(among keys: [BlobKey]?) async throws -> (candidates: Int, reclaimed: Int) {
        let (candidates, doomed) = try await mark(among: keys)
        let (deleted, failure) = await delete(doomed)
        try await forget(deleted)
        if let failure { throw failure }
        return (candidates, deleted.count)
    }

    /// Deletes the bytes of `doomed`, ``parallelDeletes`` at a time, each only while this
    /// reclaimer's claim on its row stands; answers those deleted, for ``forget(_:)``, and the
    /// first failure. One blob's failure stops none of the others: the batch's deleted rows
    /// would otherwise stay marked, refusing uploads of their bytes, for as long as that one
    /// blob kept failing. A blob left out stays marked, for whoever holds or takes over its claim.
    func delete(_ doomed: [DoomedBlob]) async -> (deleted: [DoomedBlob], failure: (any Error)?) {
        var deleted: [DoomedBlob] = []
        var failure: (any Error)?
        for start in stride(from: 0, to: doomed.count, by: Self.parallelDeletes) {
            let wave = Array(doomed[start..<min(start + Self.parallelDeletes, doomed.count)])
            // Tasks of their own, awaited in turn: a task group whose results carried the blob
            // and an error crashed the release build as results were handed back.
            let deletes = wave.map { blob in Task { try await self.deleteUnderClaim(blob) } }
            for (var blob, delete) in zip(wave, deletes) {
                switch await delete.result {
                case .success(.made): deleted.append(blob)
                case .success(.madeWithARequestInDoubt):
                    blob.requestInDoubt = true
                    deleted.append(blob)
                case .success(.notMade): break
                case .failure(let error): failure = failure ?? error
                }
            }
        }
        return (deleted, failure)
    }

    /// Renews the claim on the blob's row, then deletes its bytes within ``deleteWindow`` of
    /// the renewal; not made when the claim was taken over or the window passed first.
    private func deleteUnderClaim(_ blob: DoomedBlob) async throws -> BlobDeletion {
        let renewal = ContinuousClock.now
        guard try await stampClaim(on: blob, renewing: true) else { return .notMade }
        do {
            let deleted = try await blobs.delete(blob.key, before: renewal + deleteWindow)
            if deleted == .notMade { await giveUpClaim(on: blob) }
            return deleted
        } catch {
            await giveUpClaim(on: blob)
            throw error
        }
    }

    /// Gives up the claim on a blob whose delete is known not to be under way (it failed, or
    /// was never made: the window passed first), for the next reclaimer to take over at once
    /// rather than wait it out. An S3 request the store gave up on may still land; the
    /// tombstone of whoever deletes next fences it (``forget(_:)``).
    private func giveUpClaim(on blob: DoomedBlob) async {
        _ = try? await stampClaim(on: blob, renewing: false)
    }

    /// Renews the claim time of the blob's row, or clears it (the claim given up), while this
    /// reclaimer's claim on it stands; answers whether it did.
    private func stampClaim(on blob: DoomedBlob, renewing: Bool) async throws -> Bool {
        let time = renewing ? "now()" : "NULL"
        return try await database.withConnection { connection in
            try connection.execute("""
                UPDATE blobs SET claimed_at = \(time)
                WHERE scope = $1 AND sha256 = $2 AND deleting AND reclaim_claim = $3
                """, [.text(blob.key.scope), .bytes(blob.key.sha256), .int(blob.claim)]).affectedRows == 1
        }
    }

    /// A blob being deleted.
    struct DoomedBlob {
        var key: BlobKey
        /// Marked by an earlier pass that did not finish its deletion: a DELETE it sent may
        /// still be on its way (``forget(_:)``).
        var markedBefore: Bool
        /// The claim this reclaimer marked the row with (``BlobReclaimer``).
        var claim: Int64
        /// Deleted, but a request of this deletion went unanswered and may still be on its way
        /// (``BlobDeletion/madeWithARequestInDoubt``, ``forget(_:)``).
        var requestInDoubt = false
    }

    /// A new claim, one per batch.
    static func newClaim() -> Int64 { Int64.random(in: 1...Int64.max) }

    /// Marks a batch of blobs nothing keeps as deleting, together with any left marked by an
    /// interrupted pass, and returns them (and how many rows it locked).
    ///
    /// Two statements: the first locks the candidates, skipping rows another transaction holds
    /// (a lease, a partition's record, a new session marking held bytes); the second checks
    /// them again under those locks, with a snapshot taken after the locks were granted. So a
    /// reference or hold made by a transaction that held the row before is seen, and one that
    /// comes after waits for this transaction and then finds the row deleting. (Checked in one
    /// statement, a row that changed after its snapshot is re-checked against the new row but
    /// old references and holds.)
    private func mark(among keys: [BlobKey]?) async throws -> (candidates: Int, doomed: [DoomedBlob]) {
        let claim = Self.newClaim()
        return try await database.transaction { connection in
            var parameters: [PostgresValue] = [.int(Int64(Self.batchSize)), .double(self.takeoverAfter.inSeconds)]
            var among = ""
            if let keys {
                parameters += [.textArray(keys.map(\.scope)), .bytesArray(keys.map(\.sha256))]
                among = "AND (c.scope, c.sha256) IN (SELECT * FROM unnest($3::text[], $4::bytea[]))"
            }
            let candidates = try connection.execute("""
                SELECT c.scope, c.sha256, c.deleting FROM blobs c
                WHERE \(Self.keptByNothing("c", takeoverAfter: "$2")) \(among)
                LIMIT $1 FOR UPDATE SKIP LOCKED
                """, parameters).rows.map { row in
                    DoomedBlob(
                        key: try BlobKey(scope: try row.string("scope"), sha256: try row.bytes("sha256")),
                        markedBefore: try row.bool("deleting"), claim: claim)
                }
            guard !candidates.isEmpty else { return (0, []) }
            let marked = Set(try connection.execute("""
                UPDATE blobs b SET deleting = true, reclaim_claim = $4, claimed_at = now()
                FROM unnest($1::text[], $2::bytea[]) AS d(scope, sha256)
                WHERE b.scope = d.scope AND b.sha256 = d.sha256 AND \(Self.keptByNothing("b", takeoverAfter: "$3"))
                RETURNING b.scope, b.sha256
                """, [
                    .textArray(candidates.map(\.key.scope)), .bytesArray(candidates.map(\.key.sha256)),
                    .double(self.takeoverAfter.inSeconds), .int(claim),
                ]
            ).rows.map { row in try BlobKey(scope: try row.string("scope"), sha256: try row.bytes("sha256")) })
            return (candidates.count, candidates.filter { marked.contains($0.key) })
        }
    }

    /// The condition on blob row `b` that nothing keeps it: marked by a reclaimer that stopped
    /// halfway (its claim older than `takeoverAfter` seconds, a parameter; a row marked without
    /// a claim by an older version is taken over at once, as that version did), or held by no
    /// live hold; and referred to by no partition.
    private static func keptByNothing(_ b: String, takeoverAfter: String) -> String {
        """
        ((\(b).deleting AND \(b).reclaimed_at IS NULL
              AND (\(b).claimed_at IS NULL OR \(b).claimed_at < now() - make_interval(secs => \(takeoverAfter))))
             OR (NOT \(b).deleting AND NOT EXISTS (SELECT 1 FROM blob_holds h
                 WHERE h.scope = \(b).scope AND h.sha256 = \(b).sha256 AND h.expires_at > now())))
          AND NOT EXISTS (SELECT 1 FROM session_partitions sp WHERE sp.blob_scope = \(b).scope AND sp.sha256 = \(b).sha256)
          AND NOT EXISTS (SELECT 1 FROM version_partitions vp WHERE vp.blob_scope = \(b).scope AND vp.sha256 = \(b).sha256)
        """
    }

    /// Drops the rows of blobs whose bytes are gone, each only under the claim it was marked
    /// with (a row another reclaimer took over is that one's to forget). A blob whose deletion
    /// failed in an earlier pass, or whose deletion succeeded only after a request of it went
    /// unanswered, keeps its row as a tombstone instead, marked deleting, for the store's
    /// ``StorageLimits/lingeringDeleteFence``: a DELETE the store gave up on (timed out behind a
    /// congested gateway, say) may still reach the bytes, and would take those of an upload of
    /// the same bytes made meanwhile; while the tombstone stands, such an upload is refused as
    /// "being deleted" and sent again later.
    func forget(_ doomed: [DoomedBlob]) async throws {
        guard !doomed.isEmpty else { return }
        let fenced = limits.lingeringDeleteFence > .zero
        try await database.transaction { connection in
            for blob in doomed {
                let key = blob.key
                _ = try connection.execute(
                    (blob.markedBefore || blob.requestInDoubt) && fenced
                        ? "UPDATE blobs SET reclaimed_at = now() WHERE scope = $1 AND sha256 = $2 AND deleting AND reclaim_claim = $3"
                        : "DELETE FROM blobs WHERE scope = $1 AND sha256 = $2 AND deleting AND reclaim_claim = $3",
                    [.text(key.scope), .bytes(key.sha256), .int(blob.claim)])
            }
        }
    }

    /// Drops the holds of uploads that stopped without recording or releasing them (their
    /// server died) once they have been lapsed for a grace period too: a lapsed hold keeps
    /// nothing, but its row would stay as long as its blob does.
    func forgetLapsedHolds() async throws {
        try await database.withConnection { connection in
            _ = try connection.execute(
                "DELETE FROM blob_holds WHERE expires_at < now() - make_interval(secs => $1)",
                [.double(self.limits.blobGracePeriod.inSeconds)])
        }
    }

    /// Drops the tombstones older than the store's ``StorageLimits/lingeringDeleteFence``.
    func forgetTombstones() async throws {
        try await database.withConnection { connection in
            _ = try connection.execute(
                "DELETE FROM blobs WHERE deleting AND reclaimed_at < now() - make_interval(secs => $1)",
                [.double(self.limits.lingeringDeleteFence.inSeconds)])
        }
    }
}
