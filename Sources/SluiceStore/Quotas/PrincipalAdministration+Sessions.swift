import SluicePostgres

extension PrincipalAdministration {
    /// Aborts every open upload session of the principal holding `handle`: those it opened and
    /// those grantees opened into its folder (they hold its quotas, as ``UploadSessions/abort(_:of:)``
    /// lets that owner abort them). Answers how many it aborted.
    ///
    /// The sessions are locked in id order before they change, the order every writer of
    /// sessions takes (``RowLock``): a commit that holds one finishes first, and the session,
    /// committed by then, is left alone. A partition or commit arriving afterwards finds its
    /// session aborted (FAILED_PRECONDITION), as after AbortSession. Their partitions go with
    /// them, and their bytes before this returns (``SessionRelease``).
    public func abortSessions(handle: String) async throws -> Int {
        let (aborted, released) = try await database.transaction { connection in
            let principal = try Self.load(handle, on: connection).principal
            // Locked by a statement of their own: the release reads with a snapshot taken after
            // the locks, so it sees the partitions a registration holding one of them committed.
            let answers = try connection.execute(pipeline: [
                PostgresStatement("""
                    SELECT s.id FROM upload_sessions s
                    WHERE (s.principal_id = $1 OR s.owner_id = $1) AND s.state = 'open'
                    ORDER BY s.id \(RowLock.exclusive) OF s
                    """, [.int(principal.id)]),
                SessionRelease.statement("""
                    aborted AS (
                        UPDATE upload_sessions s SET state = 'aborted', closed_at = now()
                        WHERE (s.principal_id = $1 OR s.owner_id = $1) AND s.state = 'open'
                        RETURNING s.id)
                    """, [.int(principal.id)]),
            ])
            return try SessionRelease.outcome(of: answers[1])
        }
        await reclaimer.reclaimRegardless(among: released)
        return aborted
    }
}
