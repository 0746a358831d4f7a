import SluicePostgres

/// What a grant change does to the upload sessions its grantee opened into the owner's folder.
///
/// Such a session reserves the owner's quotas (its declared bytes, and a new name against the
/// object quota) until it commits, is aborted or expires — up to `--session-lifetime` once a
/// partition is stored. When no remaining grant lets the grantee write the session's name,
/// its commit would be refused anyway, so the revoke (or the change to READ) aborts it in the
/// same transaction: the owner's quota is free the moment the grant change commits, and an
/// ex-grantee cannot keep holding it.
///
/// Both statements go in the grant change's transaction, around the statement that changes the
/// grant: ``locking(owner:grantee:)`` before it and ``abortingUnwritable(owner:grantee:)`` after
/// it, so that the sessions are locked before the grant row, in ``RowLock``'s order (a commit
/// locks its session, then the grants). The abort re-reads the grants after the change, with
/// the same rule every query uses (``AccessRule``).
enum GranteeSessions {
    /// Locks the open sessions that the principal with handle `grantee` opened into `owner`'s
    /// folder, in id order.
    static func locking(owner: Principal, grantee: String) -> PostgresStatement {
        PostgresStatement("""
            SELECT s.id FROM upload_sessions s
            WHERE s.owner_id = $1 AND s.principal_id = (SELECT id FROM principals WHERE handle = $2)
              AND s.state = 'open'
            ORDER BY s.id \(RowLock.exclusive) OF s
            """, [.int(owner.id), .text(grantee)])
    }

    /// Aborts those of the sessions that are still open (not expired) and whose name no grant
    /// lets the grantee write any more, and lets their partitions go (``SessionRelease``, whose
    /// answer it gives).
    static func abortingUnwritable(owner: Principal, grantee: String) -> PostgresStatement {
        let access = AccessRule.level(owner: "s.owner_id", caller: "s.principal_id", name: "s.object_name")
        return SessionRelease.statement("""
            aborted AS (
                UPDATE upload_sessions s SET state = 'aborted', closed_at = now()
                WHERE s.owner_id = $1 AND s.principal_id = (SELECT id FROM principals WHERE handle = $2)
                  AND s.state = 'open' AND s.expires_at > now()
                  AND \(access) IS DISTINCT FROM 'write'
                RETURNING s.id)
            """, [.int(owner.id), .text(grantee)])
    }
}
