import SluiceBackoff
import SluiceDuration
import SluicePostgres

/// The hold an upload keeps on a blob while its bytes arrive: a row of `blob_holds`, one per
/// upload, with an expiry the upload renews. The collector reclaims a blob that no partition
/// refers to and no live hold keeps (``BlobReclaimer``), so bytes an aborted session or a
/// deleted object let go can go at once, while every upload of the same bytes still in flight
/// keeps them by its own hold. The expiry only matters to an upload that stopped without
/// recording or giving back its hold (a crashed server).
struct BlobHold: Sendable, Hashable {
    var id: Int64
}

/// What leasing a blob row before its bytes are written took.
struct BlobLease: Sendable {
    /// Whether the blob row is new: false when these bytes were already stored in the scope
    /// (the partition is deduplicated).
    var newBlob: Bool
    /// The upload's own hold, to release when it records the partition or brings no bytes.
    var hold: BlobHold
}

extension UploadSessions {
    /// Makes the transaction it runs in (an explicit one, or a pipeline's implicit one) commit
    /// asynchronously. Leases do: a lease lost to a database crash only matters to the upload
    /// that took it, and that upload's own record commits synchronously after it in the same
    /// write-ahead log, so it cannot outlive the lease. It saves a log flush per partition.
    /// (`set_config` rather than `SET LOCAL`, which warns outside an explicit transaction.)
    static let commitAsynchronously = PostgresStatement("SELECT set_config('synchronous_commit', 'off', true)")

    /// The refusal of a lease on a blob row a reclaimer is deleting. Usually that is over in a
    /// moment, but after a deletion S3 did not confirm the row stands for the store's
    /// lingering-delete fence, and the message must not promise a moment then.
    static let blobBeingReclaimed = StorageError.aborted(
        "identical bytes are being deleted; send them again later (usually a moment; after a deletion "
            + "S3 did not confirm, once its lingering-delete fence ends: at least 15 minutes)")

    /// Runs `attempt` (something that takes a lease) again while it is refused because a
    /// reclaimer is deleting identical bytes, for up to about ``reclaimWait``: a deletion under
    /// way ends within milliseconds on disk and one request on S3, and an upload that just
    /// deleted or aborted the same bytes (or whose previous attempt was cancelled and gave them
    /// back) would otherwise be refused for nothing. Past that, the refusal stands (ABORTED:
    /// send again later).
    func waitingOutReclaim<T>(_ attempt: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        var retry = 0
        while true {
            do {
                return try await attempt()
            } catch let refusal as StorageError where refusal == Self.blobBeingReclaimed {
                retry += 1
                guard ContinuousClock.now - started < Self.reclaimWait else { throw refusal }
                try await Task.sleep(for: Self.reclaimBackoff.delay(beforeRetry: retry))
            }
        }
    }

    /// How long a lease waits for a deletion of identical bytes under way (``waitingOutReclaim(_:)``).
    static let reclaimWait: Duration = .seconds(3)
    private static let reclaimBackoff = Backoff(baseDelay: .milliseconds(10), maxDelay: .milliseconds(250))

    /// Takes a lease on a blob row before its bytes are written: makes the row (or finds it,
    /// not being reclaimed) and a hold of this upload's own on it.
    func lease(_ key: BlobKey, size: Int64) async throws -> BlobLease {
        try await database.transaction { connection in
            try Self.lease(answeredBy: connection.execute(pipeline: self.leasing(key, size: size)).last!)
        }
    }

    /// The statements of ``lease(_:size:)``, for a pipeline: they make the whole transaction
    /// commit asynchronously. `xmax = 0` holds only for a freshly inserted row.
    func leasing(_ key: BlobKey, size: Int64) -> [PostgresStatement] {
        [
            Self.commitAsynchronously,
            PostgresStatement("""
                WITH leased AS (
                    INSERT INTO blobs (scope, sha256, size) VALUES ($1, $2, $3)
                    ON CONFLICT (scope, sha256) DO UPDATE SET last_used_at = now() WHERE NOT blobs.deleting
                    RETURNING scope, sha256, (xmax = 0) AS inserted
                ), held AS (
                    \(Self.holding(from: "leased", expiresIn: "$4"))
                )
                SELECT leased.inserted AS lease_new, held.id AS hold_id FROM leased, held
                """, [.text(key.scope), .bytes(key.sha256), .int(size), .double(holdLifetime.inSeconds)]),
        ]
    }

    /// How long a hold lasts unless renewed: the grace period.
    var holdLifetime: Duration { limits.blobGracePeriod }

    /// The insert of a hold on the blob row `source` (a CTE answering `scope` and `sha256`)
    /// returned, for a `WITH` clause: answers the hold's `id`; `seconds` is a parameter.
    static func holding(from source: String, expiresIn seconds: String) -> String {
        """
        INSERT INTO blob_holds (scope, sha256, expires_at)
        SELECT scope, sha256, now() + make_interval(secs => \(seconds)) FROM \(source)
        RETURNING id
        """
    }

    /// The lease from the answer to the last of ``leasing(_:size:)``, or one shaped like it
    /// (`lease_new`, `hold_id`); throws ``blobBeingReclaimed`` when the collector is deleting
    /// the row.
    static func lease(answeredBy answer: PostgresResult) throws -> BlobLease {
        guard answer.rows.count == 1, let row = answer.rows.first,
              let newBlob = try row.optionalBool("lease_new"), let hold = try row.optionalInt("hold_id")
        else { throw blobBeingReclaimed }
        return BlobLease(newBlob: newBlob, hold: BlobHold(id: hold))
    }

    /// Renews the hold of an upload whose bytes are still arriving (a slow link, a principal's
    /// paced byte rate: a partition may take longer than the grace period to arrive).
    func renew(_ hold: BlobHold, partition index: Int) async throws {
        let renewed = try await database.withConnection { connection in
            try connection.execute("""
                UPDATE blob_holds h SET expires_at = now() + make_interval(secs => $2)
                WHERE h.id = $1
                  AND EXISTS (SELECT 1 FROM blobs b WHERE b.scope = h.scope AND b.sha256 = h.sha256 AND NOT b.deleting)
                """, [.int(hold.id), .double(self.holdLifetime.inSeconds)]).affectedRows
        }
        guard renewed == 1 else { throw Self.leaseLost(partition: index) }
    }

    /// The statement that drops a hold: in the transaction that records its partition (the
    /// partition's row keeps the bytes from then on), or alone when the upload brought no bytes.
    static func releasing(_ hold: BlobHold) -> PostgresStatement {
        PostgresStatement("DELETE FROM blob_holds WHERE id = $1", [.int(hold.id)])
    }

    /// Drops a hold whose bytes something else keeps now (a blob found already held, which a
    /// version or another session refers to). Runs in a task of its own, so that a cancelled
    /// call releases too; a hold this fails to drop lapses at its expiry.
    func release(_ hold: BlobHold) async {
        await Task { await self.drop(hold) }.value
    }

    /// Drops the hold of an upload that brought no bytes (they failed their check, the call
    /// ended first, the session was aborted while they arrived, the commit failed). With
    /// `stored` (its bytes reached the store before it failed), also reclaims blob `key` at once
    /// unless something else keeps it: aborting a session while its partitions were still
    /// arriving otherwise left their bytes on disk, counted nowhere, until the collector's next
    /// pass. Bytes that never reached the store leave nothing to delete (and a store that is
    /// failing would only refuse the delete and keep the next upload of them waiting). In a task
    /// of its own, as ``release(_:)``.
    func giveBack(_ hold: BlobHold, of key: BlobKey, stored: Bool) async {
        await Task {
            await self.drop(hold)
            if stored { _ = try? await self.reclaimer.reclaim(among: [key]) }
        }.value
    }

    /// Drops the hold; one this fails to drop lapses at its expiry.
    private func drop(_ hold: BlobHold) async {
        _ = try? await database.withConnection { connection in try connection.execute(Self.releasing(hold)) }
    }

    /// The refusal of a partition whose blob row the collector took while its bytes arrived.
    static func leaseLost(partition index: Int) -> StorageError {
        .aborted("partition \(index) took longer than the server's blob grace period; send it again")
    }

    /// The statements that confirm a stored partition's lease as its record is written, for the
    /// recording pipeline, after the session's lock: the first locks the blob row (FOR NO KEY
    /// UPDATE, as ``RowLock`` wants) and finds none when the collector is reclaiming the bytes;
    /// the second repairs whatever damage was found, since these bytes were just written and
    /// verified; the third drops the upload's hold, which the record replaces.
    /// ``requireLease(confirmedBy:partition:)`` reads the first one's answer.
    ///
    /// The first also sets the row's size to the `size` just verified. A lease is taken before
    /// any byte arrives, with the size its upload declared; when those bytes then fail their
    /// check, the row keeps that size until the collector reclaims it, and a later upload of
    /// the real bytes leases the same row. Left wrong, the size would make the scrubber report
    /// the blob damaged on every pass and keep the bytes from ever counting as held.
    static func confirmingLease(_ key: BlobKey, size: Int64, hold: BlobHold) -> [PostgresStatement] {
        [
            PostgresStatement("""
                UPDATE blobs SET last_used_at = now(), size = $3 WHERE scope = $1 AND sha256 = $2 AND NOT deleting
                """, [.text(key.scope), .bytes(key.sha256), .int(size)]),
            DamagedBlobs.clearing(key),
            releasing(hold),
        ]
    }

    /// Throws unless `confirmation` (the answer to the first of ``confirmingLease(_:size:hold:)``)
    /// found the blob still leased.
    static func requireLease(confirmedBy confirmation: PostgresResult, partition index: Int) throws {
        guard confirmation.affectedRows == 1 else { throw leaseLost(partition: index) }
    }
}
