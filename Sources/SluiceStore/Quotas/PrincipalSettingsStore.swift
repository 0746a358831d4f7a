import SluicePostgres

/// Reads a principal's overrides and disabled flag (the `principal_limits` table and
/// `principals.disabled_at`).
enum PrincipalSettingsStore {
    static let columns = LimitKind.allCases.map { "l.\($0.rawValue)" }.joined(separator: ", ")

    static func load(_ principalID: Int64, on connection: PostgresConnection) throws -> PrincipalSettings {
        let row = try connection.execute("""
            SELECT p.disabled_at IS NOT NULL AS disabled, \(columns)
            FROM principals p LEFT JOIN principal_limits l ON l.principal_id = p.id WHERE p.id = $1
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
