import SluicePostgres

/// What a grant lets its grantee do with the owner's objects.
public enum GrantAccess: String, Sendable, Comparable {
    /// Get, list, read, read partitions, list versions.
    case read
    /// Everything `read` allows, and upload, delete and restore.
    case write

    public static func < (left: GrantAccess, right: GrantAccess) -> Bool {
        left == .read && right == .write
    }
}

/// What a grant covers: one object name, or every name under a folder prefix ending in `/`.
public enum GrantScope: String, Sendable {
    case object, prefix
}

/// The SQL that decides access, written once and embedded into the very queries that read or
/// change objects (never a separate check-then-act step): the owner has `write`; anyone else
/// has the best access of the owner's grants to them that cover the name, or NULL (no access:
/// the object is answered as missing). A prefix grant covers names that start with its path
/// (`starts_with` compares bytes: no LIKE wildcards, and "docs/" never covers "docsx").
enum AccessRule {
    /// An expression of type text: 'write', 'read' or NULL.
    static func level(owner: String, caller: String, name: String) -> String {
        """
        (CASE WHEN \(owner) = \(caller) THEN 'write' ELSE (
            SELECT max(g.access) FROM grants g
            WHERE g.owner_id = \(owner) AND g.grantee_id = \(caller)
              AND ((g.scope = 'object' AND g.path = \(name))
                   OR (g.scope = 'prefix' AND starts_with(\(name), g.path)))) END)
        """
    }

    /// The caller's access to `name` of `owner`, read with the covering grants locked
    /// (FOR SHARE) until the transaction ends: a revoke waits for it, so what this returns
    /// still holds when the transaction commits. For checks that have no object row to join
    /// to (creating or committing an upload of a name that may not exist yet).
    static func lockedLevel(
        owner: Principal, caller: Principal, name: String, on connection: PostgresConnection
    ) throws -> GrantAccess? {
        guard owner.id != caller.id else { return .write }
        return try level(lockedBy: connection.execute(lockingGrants(owner: owner, caller: caller, name: name)))
    }

    /// The statement of ``lockedLevel(owner:caller:name:on:)`` for a caller other than the
    /// owner, for a pipeline; ``level(lockedBy:)`` reads its answer.
    static func lockingGrants(owner: Principal, caller: Principal, name: String) -> PostgresStatement {
        PostgresStatement("""
            SELECT g.access FROM grants g
            WHERE g.owner_id = $1 AND g.grantee_id = $2
              AND ((g.scope = 'object' AND g.path = $3) OR (g.scope = 'prefix' AND starts_with($3, g.path)))
            FOR SHARE
            """, [.int(owner.id), .int(caller.id), .text(name)])
    }

    /// The best access of the grants ``lockingGrants(owner:caller:name:)`` found; nil for none.
    static func level(lockedBy answer: PostgresResult) throws -> GrantAccess? {
        try answer.rows.compactMap { GrantAccess(rawValue: try $0.string("access")) }.max()
    }

    /// What the caller may do, from a row's `access` column; throws PERMISSION_DENIED when it
    /// only reads but `needed` is write.
    static func require(_ needed: GrantAccess, granted: String?, name: String, owner: Principal) throws(StorageError) {
        guard needed == .write, granted == GrantAccess.read.rawValue else { return }
        throw .permissionDenied(
            "'\(owner.handle)' shares '\(name)' with you for reading only; ask them for write access")
    }
}
