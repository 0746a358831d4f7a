import SluicePostgres

extension UploadSessions {
    /// Marks as stored, in a session just created, every declared partition whose bytes the
    /// owner's scope already holds, so the client sends only the others ("only what changed
    /// moves"). Runs inside the creating transaction.
    ///
    /// What may be revealed: knowing that a partition is "already stored" tells the caller
    /// that those bytes exist. So a blob counts only when the caller could read those bytes
    /// anyway — it is a partition of a committed version of one of the owner's objects that
    /// the caller may read (the owner reads all of its own; a grantee only names its grants
    /// cover), or a partition the caller itself stored in another session into the same
    /// owner. A blob that only another principal's unfinished upload holds, or an object
    /// outside the grant, or another scope (with --deduplicate-across-principals the scope
    /// is shared, and the same rule keeps other principals' bytes hidden) never counts.
    ///
    /// The blob must be live: not being reclaimed, not recorded as damaged, of the declared
    /// size, and not locked by another transaction right now (see the statement). Its lease is
    /// refreshed under the row lock (the collector's marking skips or
    /// waits for locked rows, and re-checks `deleting`), and the session's row then refers to
    /// it, so it cannot be collected before the commit — which re-reads and re-hashes every
    /// partition as for any upload (a blob whose bytes rotted fails the commit with DATA_LOSS
    /// and is dropped from the session, to be sent again).
    ///
    /// The statement, for the pipeline that creates the session (it answers the partitions it
    /// marked: `index`, `size`); nil when nothing is declared.
    /// Planning it costs the server far more than running it, so ``probingHeldBlobs(_:scope:)``
    /// decides first whether it can find anything.
    static func markingHeldPartitions(
        of id: SessionID, declaration: SessionDeclaration, owner: Principal, caller: Principal, scope: String
    ) -> PostgresStatement? {
        guard !declaration.partitionSHA256.isEmpty else { return nil }
        return PostgresStatement("""
            WITH declared AS (
                SELECT (d.ord - 1)::int AS index, d.sha256,
                    least($5::bigint, $4::bigint - (d.ord - 1) * $5::bigint) AS size
                FROM unnest($2::bytea[]) WITH ORDINALITY AS d(sha256, ord)
            ), locked AS (
                -- Never waits: a blob another transaction holds locked (a commit's or a
                -- put's lease, several of which a group commit takes in object order, or the
                -- collector) is left unmarked, and the client sends those bytes, rather than
                -- wait in an order that can close a cycle with that transaction.
                SELECT b.scope, b.sha256 FROM blobs b
                WHERE b.scope = $3 AND NOT b.deleting
                  AND b.sha256 IN (SELECT sha256 FROM declared)
                  AND NOT EXISTS (SELECT 1 FROM damaged_blobs db WHERE db.scope = b.scope AND db.sha256 = b.sha256)
                  AND (EXISTS (SELECT 1 FROM version_partitions vp JOIN objects o ON o.id = vp.object_id
                               WHERE vp.blob_scope = b.scope AND vp.sha256 = b.sha256 AND o.principal_id = $6
                                 AND \(AccessRule.level(owner: "$6", caller: "$7", name: "o.name")) IS NOT NULL)
                       OR EXISTS (SELECT 1 FROM session_partitions sp JOIN upload_sessions s ON s.id = sp.session_id
                               WHERE sp.blob_scope = b.scope AND sp.sha256 = b.sha256 AND s.id <> $1
                                 AND s.principal_id = $7 AND coalesce(s.owner_id, s.principal_id) = $6))
                ORDER BY b.sha256
                \(RowLock.exclusive) OF b SKIP LOCKED
            ), leased AS (
                UPDATE blobs b SET last_used_at = now()
                FROM locked l WHERE b.scope = l.scope AND b.sha256 = l.sha256 AND NOT b.deleting
                RETURNING b.scope, b.sha256, b.size
            )
            INSERT INTO session_partitions (session_id, index, size, sha256, blob_scope)
            SELECT $1, d.index, d.size, d.sha256, l.scope
            FROM declared d JOIN leased l ON l.sha256 = d.sha256 AND l.size = d.size
            ON CONFLICT (session_id, index) DO NOTHING
            RETURNING index, size
            """, [
                .bytes(id.bytes), .bytesArray(declaration.partitionSHA256), .text(scope),
                .int(declaration.totalSize), .int(declaration.partitionSize), .int(owner.id), .int(caller.id),
            ])
    }

    /// Whether any declared partition's blob is one the marking statement may mark: referenced
    /// by a version of one of the owner's objects the caller may read, or stored by the caller
    /// into the same owner in another session (`held`: 1 or 0). When none is,
    /// ``markingHeldPartitions(of:declaration:owner:caller:scope:)`` cannot mark anything and is
    /// not sent. The probe applies the marking's visibility rule, so that whether the costlier
    /// marking runs, and how long the call takes, depends only on bytes the caller could read
    /// anyway: counting every blob of the scope made the call's time tell a grantee (or, with
    /// `--deduplicate-across-principals`, anyone) whether hidden or deleted bytes were held.
    /// A blob stored between the two is only a partition the client sends again.
    static func probingHeldBlobs(
        _ declaration: SessionDeclaration, scope: String, owner: Principal, caller: Principal
    ) -> PostgresStatement? {
        guard !declaration.partitionSHA256.isEmpty else { return nil }
        let readable = owner.id == caller.id
            ? "" : "AND \(AccessRule.level(owner: "$3", caller: "$4", name: "o.name")) IS NOT NULL"
        return PostgresStatement("""
            SELECT (EXISTS (SELECT 1 FROM version_partitions vp JOIN objects o ON o.id = vp.object_id
                            WHERE vp.blob_scope = $1 AND vp.sha256 = ANY($2::bytea[]) AND o.principal_id = $3
                              \(readable))
                 OR EXISTS (SELECT 1 FROM session_partitions sp JOIN upload_sessions s ON s.id = sp.session_id
                            WHERE sp.blob_scope = $1 AND sp.sha256 = ANY($2::bytea[]) AND s.principal_id = $4
                              AND coalesce(s.owner_id, s.principal_id) = $3))::int::bigint AS held
            """, [.text(scope), .bytesArray(declaration.partitionSHA256), .int(owner.id), .int(caller.id)])
    }
}
