import Foundation
import SluiceDuration
import SluiceMetrics
import SluicePostgres

/// Reclaims what nothing will use: partitions of aborted and expired sessions, closed
/// sessions past their retention, blobs no row refers to, and staging files left by
/// crashes. Nothing referenced is ever deleted: blob rows are only removable when no
/// foreign key points at them, and bytes go only after their row is marked deleting.
public final class Collector: Sendable {
    /// What one pass removed.
    public struct Report: Sendable, Equatable {
        public var releasedPartitions = 0
        public var deletedSessions = 0
        public var deletedBlobs = 0
        public var removedStagingFiles = 0
        /// Blob files the database had no row for (left by a delete a crash interrupted).
        public var removedUnknownFiles = 0
        /// Open sessions that stored nothing within the empty-session lifetime, now expired.
        public var expiredEmptySessions = 0
        /// Findings of damaged blobs forgotten because the blob itself is gone.
        public var forgottenDamageFindings = 0
        /// Changes dropped from the change log past its retention.
        public var prunedChanges = 0

        public init() {}

        /// What the pass removed, by the `kind` label of `sluice_collector_reclaimed_total`.
        var reclaimedByKind: KeyValuePairs<String, Int> {
            [
                "partitions": releasedPartitions, "sessions": deletedSessions, "blobs": deletedBlobs,
                "staging_files": removedStagingFiles, "unknown_files": removedUnknownFiles,
                "empty_sessions": expiredEmptySessions, "damage_findings": forgottenDamageFindings,
                "changes": prunedChanges,
            ]
        }
    }

    let database: PostgresPool
    private let blobs: any BlobStore
    let limits: StorageLimits

    public init(database: PostgresPool, blobs: any BlobStore, limits: StorageLimits) {
        self.database = database
        self.blobs = blobs
        self.limits = limits
    }

    /// Runs passes every `interval` until the task is cancelled; a failed pass is
    /// reported and retried at the next interval.
    public func run(every interval: Duration, onPass: @Sendable (Result<Report, Error>) -> Void) async {
        while !Task.isCancelled {
            do {
                let report = try await collect()
                SluiceMetrics.collectorPassCompleted(reclaimed: report.reclaimedByKind)
                onPass(.success(report))
            } catch is CancellationError {
                return
            } catch {
                SluiceMetrics.collectorPassFailed()
                onPass(.failure(error))
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Open upload sessions (not expired) of every principal and instance, for the open-sessions
    /// gauge: sessions live in the database, so no one process can count them itself.
    public func openSessionCount() async throws -> Int {
        try await database.withConnection { connection in
            let rows = try connection.execute(
                "SELECT count(*)::bigint AS open FROM upload_sessions WHERE state = 'open' AND expires_at > now()"
            ).rows
            return Int(try rows.first?.int("open") ?? 0)
        }
    }

    /// One pass.
    public func collect() async throws -> Report {
        var report = Report()
        let retention = limits.closedSessionRetention.inSeconds
        let grace = limits.blobGracePeriod.inSeconds
        let emptyLifetime = limits.emptySessionLifetime.inSeconds
        (report.expiredEmptySessions, report.releasedPartitions, report.deletedSessions) = try await database.transaction { connection in
            // A session nobody has stored a partition in (a client that died before writing
            // its journal, say) gives its open-session slot back early. Registering a
            // partition holds the session row (FOR SHARE): candidates are locked first, so a
            // registration either committed before the second statement, whose fresh
            // snapshot then sees the partition, or waits and finds the session expired.
            let candidates = try connection.execute("""
                SELECT s.id FROM upload_sessions s
                WHERE s.state = 'open' AND s.expires_at > now()
                  AND s.created_at < now() - make_interval(secs => $1)
                  AND NOT EXISTS (SELECT 1 FROM session_partitions sp WHERE sp.session_id = s.id)
                \(RowLock.exclusive) OF s SKIP LOCKED
                """, [.double(emptyLifetime)]).rows.map { try $0.bytes("id") }
            let expiredEmpty = candidates.isEmpty ? 0 : try connection.execute("""
                UPDATE upload_sessions s SET expires_at = now()
                WHERE s.id = ANY($1::bytea[])
                  AND NOT EXISTS (SELECT 1 FROM session_partitions sp WHERE sp.session_id = s.id)
                """, [.bytesArray(candidates)]).affectedRows
            // Locking the sessions makes a commit that is under way finish (or not start)
            // before their partitions go: a commit can never copy a half-released session.
            // Their blobs then wait out the grace period like any unreferenced blob: a lease
            // is shared by every upload of the same bytes, so the collector cannot tell one an
            // upload still holds from one nothing holds (dating them back reclaimed the bytes of
            // an upload in flight).
            let released = try connection.execute("""
                DELETE FROM session_partitions WHERE session_id IN (
                    SELECT id FROM upload_sessions
                    WHERE state = 'aborted' OR (state = 'open' AND expires_at < now())
                    \(RowLock.exclusive))
                """).affectedRows
            let deleted = try connection.execute("""
                DELETE FROM upload_sessions
                WHERE (state <> 'open' AND closed_at < now() - make_interval(secs => $1))
                   OR (state = 'open' AND expires_at < now() - make_interval(secs => $1))
                """, [.double(retention)]).affectedRows
            return (expiredEmpty, released, deleted)
        }
        while true {
            let doomed = try await markUnreferencedBlobs(grace: grace)
            for blob in doomed { try await blobs.delete(blob.key) }
            try await forget(doomed)
            report.deletedBlobs += doomed.count
            if doomed.count < Self.batchSize { break }
        }
        try await forgetTombstones()
        report.forgottenDamageFindings = try await database.withConnection { connection in
            try connection.execute("""
                DELETE FROM damaged_blobs d
                WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.scope = d.scope AND b.sha256 = d.sha256)
                """).affectedRows
        }
        report.prunedChanges = try await pruneChanges()
        report.removedUnknownFiles = try await sweepUnknownFiles(olderThan: Date().addingTimeInterval(-grace))
        report.removedStagingFiles = try await blobs.removeAbandonedStaging(
            olderThan: Date().addingTimeInterval(-grace))
        return report
    }

    private static let batchSize = 200

    /// A blob the collector is deleting.
    private struct DoomedBlob {
        var key: BlobKey
        /// Marked by an earlier pass that did not finish its deletion: a DELETE it sent may
        /// still be on its way (``forget(_:)``).
        var markedBefore: Bool
    }

    /// Marks a batch of stale, unreferenced blobs as deleting (so no upload can lease them),
    /// together with any left marked by an interrupted pass, and returns them.
    private func markUnreferencedBlobs(grace: Double) async throws -> [DoomedBlob] {
        try await database.transaction { connection in
            try connection.execute("""
                WITH doomed AS (
                    SELECT c.scope, c.sha256, c.deleting AS marked_before FROM blobs c
                    WHERE ((c.deleting AND c.reclaimed_at IS NULL)
                           OR (NOT c.deleting AND c.last_used_at < now() - make_interval(secs => $1)))
                      AND NOT EXISTS (SELECT 1 FROM session_partitions sp
                                      WHERE sp.blob_scope = c.scope AND sp.sha256 = c.sha256)
                      AND NOT EXISTS (SELECT 1 FROM version_partitions vp
                                      WHERE vp.blob_scope = c.scope AND vp.sha256 = c.sha256)
                    LIMIT $2 FOR UPDATE SKIP LOCKED)
                UPDATE blobs b SET deleting = true FROM doomed d
                WHERE b.scope = d.scope AND b.sha256 = d.sha256
                RETURNING b.scope, b.sha256, d.marked_before
                """, [.double(grace), .int(Int64(Self.batchSize))]
            ).rows.map { row in
                DoomedBlob(
                    key: try BlobKey(scope: try row.string("scope"), sha256: try row.bytes("sha256")),
                    markedBefore: try row.bool("marked_before"))
            }
        }
    }

    /// Deletes blob files the database does not know. An upload inserts its blob row before
    /// writing the file, so a file without a row is debris; claiming it with a row marked
    /// deleting keeps any upload from leasing it while its file goes.
    private func sweepUnknownFiles(olderThan cutoff: Date) async throws -> Int {
        var removed = 0
        var after: BlobKey?
        while true {
            let page = try await blobs.keys(olderThan: cutoff, after: after, limit: Self.batchSize)
            let claimed = try await database.transaction { connection in
                try page.filter { key in
                    try connection.execute("""
                        INSERT INTO blobs (scope, sha256, size, deleting) VALUES ($1, $2, 0, true)
                        ON CONFLICT (scope, sha256) DO NOTHING
                        """, [.text(key.scope), .bytes(key.sha256)]).affectedRows == 1
                }
            }
            for key in claimed { try await blobs.delete(key) }
            try await forget(claimed.map { DoomedBlob(key: $0, markedBefore: false) })
            removed += claimed.count
            guard page.count == Self.batchSize, let last = page.last else { return removed }
            after = last
        }
    }

    /// Drops the rows of blobs whose bytes are gone. A blob whose deletion failed in an earlier
    /// pass keeps its row as a tombstone instead, marked deleting, for the store's
    /// ``StorageLimits/lingeringDeleteFence``: a DELETE of that pass that the store gave up on
    /// (timed out behind a congested gateway, say) may still reach the bytes, and would take
    /// those of an upload of the same bytes made meanwhile; while the tombstone stands, such an
    /// upload is refused as "being reclaimed" and sent again later.
    private func forget(_ doomed: [DoomedBlob]) async throws {
        guard !doomed.isEmpty else { return }
        let fenced = limits.lingeringDeleteFence > .zero
        try await database.transaction { connection in
            for blob in doomed {
                let key = blob.key
                _ = try connection.execute(
                    blob.markedBefore && fenced
                        ? "UPDATE blobs SET reclaimed_at = now() WHERE scope = $1 AND sha256 = $2 AND deleting"
                        : "DELETE FROM blobs WHERE scope = $1 AND sha256 = $2 AND deleting",
                    [.text(key.scope), .bytes(key.sha256)])
            }
        }
    }

    /// Drops the tombstones older than the store's ``StorageLimits/lingeringDeleteFence``.
    private func forgetTombstones() async throws {
        try await database.withConnection { connection in
            _ = try connection.execute(
                "DELETE FROM blobs WHERE deleting AND reclaimed_at < now() - make_interval(secs => $1)",
                [.double(self.limits.lingeringDeleteFence.inSeconds)])
        }
    }
}
