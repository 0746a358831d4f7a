import Foundation
import SluiceDuration
import SluiceMetrics
import SluicePostgres

/// Reclaims what nothing will use: partitions of aborted and expired sessions, closed
/// sessions past their retention, blobs nothing refers to or holds (``BlobReclaimer``), and
/// staging files left by crashes. Nothing referenced is ever deleted: blob rows are only
/// removable when no foreign key points at them, and bytes go only after their row is marked
/// deleting.
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
    private let reclaimer: BlobReclaimer

    public init(database: PostgresPool, blobs: any BlobStore, limits: StorageLimits) {
        self.database = database
        self.blobs = blobs
        self.limits = limits
        self.reclaimer = BlobReclaimer(database: database, blobs: blobs, limits: limits)
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
            } catch where Task.isCancelled {
                // Stopped mid-statement: the cancellation reaches PostgreSQL and comes back as its
                // error (57014), which is the stop, not a failed pass to count and log.
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
            // Their blobs go below, unless an upload of the same bytes holds them.
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
        report.deletedBlobs = try await reclaimer.reclaim()
        try await reclaimer.forgetTombstones()
        try await reclaimer.forgetLapsedHolds()
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

    /// Deletes blob files the database does not know. An upload inserts its blob row before
    /// writing the file, so a file without a row is debris; claiming it with a row marked
    /// deleting keeps any upload from leasing it while its file goes.
    private func sweepUnknownFiles(olderThan cutoff: Date) async throws -> Int {
        var removed = 0
        var after: BlobKey?
        while true {
            let page = try await blobs.keys(olderThan: cutoff, after: after, limit: BlobReclaimer.batchSize)
            let claim = BlobReclaimer.newClaim()
            let claimed = try await database.transaction { connection in
                try page.filter { key in
                    try connection.execute("""
                        INSERT INTO blobs (scope, sha256, size, deleting, reclaim_claim, claimed_at)
                        VALUES ($1, $2, 0, true, $3, now())
                        ON CONFLICT (scope, sha256) DO NOTHING
                        """, [.text(key.scope), .bytes(key.sha256), .int(claim)]).affectedRows == 1
                }
            }
            let (deleted, failure) = await reclaimer.delete(
                claimed.map { BlobReclaimer.DoomedBlob(key: $0, markedBefore: false, claim: claim) })
            try await reclaimer.forget(deleted)
            if let failure { throw failure }
            removed += deleted.count
            guard page.count == BlobReclaimer.batchSize, let last = page.last else { return removed }
            after = last
        }
    }
}
