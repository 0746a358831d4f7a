import SluicePostgres

/// Reads a principal's overrides and disabled flag (the `principal_limits` table and
/// `principals.disabled_at`).
enum PrincipalSettingsStore {
    /// The columns ``settings(from:)`` reads, from ``joined``.
    static let columns = "p.disabled_at IS NOT NULL AS disabled, "
        + LimitKind.allCases.map { "l.\($0.rawValue)" }.joined(separator: ", ")
    /// `principals p` with its overrides `l` (none: every column of `l` is NULL).
    static let joined = "principals p LEFT JOIN principal_limits l ON l.principal_id = p.id"

    /// Locks the rows of `caller` and `owner` (the same one, or two in id order,
    /// ``RowLock/exclusive``: so two transactions locking the same pair never wait on each other
    /// in a cycle) and reads their settings. (Two parameters rather than an array: the server
    /// then plans the statement once, not on every call.)
    static func locking(_ caller: Principal, _ owner: Principal) -> PostgresStatement {
        PostgresStatement("""
            SELECT p.id, \(columns) FROM \(joined)
            WHERE p.id IN ($1, $2) ORDER BY p.id \(RowLock.exclusive) OF p
            """, [.int(caller.id), .int(owner.id)])
    }

    /// The settings of each principal in an answer of ``locking(_:_:)``, by id.
    static func settings(in locked: PostgresResult) throws -> [Int64: PrincipalSettings] {
        var settings: [Int64: PrincipalSettings] = [:]
        for row in locked.rows { settings[try row.int("id")] = try Self.settings(from: row) }
        return settings
    }

    static func load(_ principalID: Int64, on connection: PostgresConnection) throws -> PrincipalSettings {
        let row = try connection.execute("""
            SELECT \(columns) FROM \(joined) WHERE p.id = $1
            """, [.int(principalID)]).rows.first
        guard let row else { return PrincipalSettings() }
        return try settings(from: row)
    }

    static func settings(from row: PostgresRow) throws -> PrincipalSettings {
        var overrides: [LimitKind: Int64] = [:]
        for kind in LimitKind.allCases {
            if let value = try row.optionalInt(kind.rawValue) { overrides[kind] = value }
        }
        return PrincipalSettings(overrides: overrides, disabled: try row.bool("disabled"))
    }
}
