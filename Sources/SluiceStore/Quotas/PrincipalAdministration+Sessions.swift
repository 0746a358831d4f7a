import SluicePostgres

extension PrincipalAdministration {
    /// Aborts every open upload session of the principal holding `handle`: those it opened and
    /// those grantees opened into its folder (they hold its quotas, as ``UploadSessions/abort(_:of:)``
    /// lets that owner abort them). Answers how many it aborted.
    ///
    /// The sessions are locked in id order before they change, the order every writer of
    /// sessions takes (``RowLock``): a commit that holds one finishes first, and the session,
    /// committed by then, is left alone. A partition or commit arriving afterwards finds its
    /// session aborted (FAILED_PRECONDITION), as after AbortSession.
    public func abortSessions(handle: String) async throws -> Int {
        try await database.transaction { connection in
            let principal = try Self.load(handle, on: connection).principal
            return try connection.execute("""
                WITH doomed AS (
                    SELECT s.id FROM upload_sessions s
                    WHERE (s.principal_id = $1 OR s.owner_id = $1) AND s.state = 'open'
                    ORDER BY s.id \(RowLock.exclusive) OF s)
                UPDATE upload_sessions s SET state = 'aborted', closed_at = now()
                FROM doomed d WHERE s.id = d.id AND s.state = 'open'
                RETURNING s.id
                """, [.int(principal.id)]).rows.count
        }
    }
}
