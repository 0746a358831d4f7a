import SluiceDuration
import SluicePostgres

extension Collector {
    /// Drops the changes older than the change retention, always a whole stretch from the
    /// start of the log (everything up to the newest expired position, so the log never has
    /// holes), and records how far it pruned: a cursor below that is out of range. Readers
    /// see the rows and `pruned_through` in one snapshot, so no read finds the rows gone
    /// without also finding the new bound.
    func pruneChanges() async throws -> Int {
        let retention = limits.changeRetention.inSeconds
        return try await database.transaction { connection in
            let rows = try connection.execute("""
                WITH cutoff AS (
                    SELECT max(position) AS through FROM changes
                    WHERE committed_at < now() - make_interval(secs => $1)
                ), gone AS (
                    DELETE FROM changes WHERE position <= (SELECT through FROM cutoff) RETURNING position
                ), moved AS (
                    UPDATE change_log_state SET pruned_through = greatest(pruned_through, (SELECT through FROM cutoff))
                    WHERE (SELECT through FROM cutoff) IS NOT NULL
                )
                SELECT count(*)::bigint AS pruned FROM gone
                """, [.double(retention)]).rows
            return Int(try rows.first?.int("pruned") ?? 0)
        }
    }
}
