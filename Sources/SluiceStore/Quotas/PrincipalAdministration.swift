import Foundation
import SluicePostgres

/// A principal as an administrator sees it.
public struct PrincipalRecordView: Sendable, Equatable {
    public var principal: Principal
    public var createdAt: Date
    public var settings: PrincipalSettings
}

/// What administrators change about principals: limit overrides and the disabled flag, and
/// the list of every principal. Nothing here deletes or changes stored objects.
public final class PrincipalAdministration: Sendable {
    let database: PostgresPool

    public init(database: PostgresPool) {
        self.database = database
    }

    /// Most principals on one page.
    public static let maxPageSize = 1000

    /// A page of principals in handle order, after `afterHandle` (exclusive): `pageSize` (0 for
    /// 100, at most `maxPageSize`) of them, fewer when their encoded size would pass
    /// ``PageBudget/maxBytes`` (an identity has no fixed length), and whether more follow.
    public func list(pageSize: Int, afterHandle: String) async throws -> (page: [PrincipalRecordView], more: Bool) {
        let size = pageSize == 0 ? 100 : pageSize
        guard (1...Self.maxPageSize).contains(size) else {
            throw StorageError.invalidArgument("page_size must be 0 to \(Self.maxPageSize), got \(pageSize)")
        }
        return try await database.withConnection { connection in
            var page = ListingPage<PrincipalRecordView>(size: size)
            var after = afterHandle
            scanning: while true {
                let rows = try connection.execute(PageBudget.bounded("""
                    SELECT p.id, p.name, p.handle, extract(epoch FROM p.created_at)::float8 AS created_at,
                        \(PrincipalSettingsStore.columns),
                        (\(2 * PageBudget.fixedBytes) + octet_length(p.name) + octet_length(p.handle)) AS page_cost
                    FROM \(PrincipalSettingsStore.joined)
                    WHERE p.handle IS NOT NULL AND p.handle > $1
                    ORDER BY p.handle LIMIT $2
                    """, order: "handle"), [.text(after), .int(Int64(size + 1))]).rows
                for row in rows {
                    let view = try Self.record(from: row)
                    after = view.principal.handle
                    guard page.add(view, bytes: PageBudget.encodedSize(of: view)) else { break scanning }
                }
                // A batch reads one more principal than the page holds: one that fits nowhere means more.
                if rows.count <= size, try !PageBudget.cutShort(rows) { break }
            }
            return (page.items, page.hasMore)
        }
    }

    /// The principal holding `handle`; NOT_FOUND when nobody does.
    public func record(handle: String) async throws -> PrincipalRecordView {
        try await database.withConnection { connection in try Self.load(handle, on: connection) }
    }

    /// The stored settings of a principal (an unknown id has none).
    public func settings(of principalID: Int64) async throws -> PrincipalSettings {
        try await database.withConnection { connection in try PrincipalSettingsStore.load(principalID, on: connection) }
    }

    /// Sets (`set`) and removes (`clear`) overrides of `handle`'s limits; values must not be
    /// negative (0 is unlimited).
    public func setLimits(handle: String, set: [LimitKind: Int64], clear: Set<LimitKind>) async throws
        -> PrincipalRecordView
    {
        if let (kind, value) = set.first(where: { $0.value < 0 }) {
            throw StorageError.invalidArgument("\(kind.rawValue) must not be negative (0 is unlimited), got \(value)")
        }
        if let both = set.keys.first(where: clear.contains) {
            throw StorageError.invalidArgument("\(both.rawValue) is both set and cleared; do one")
        }
        return try await database.transaction { connection in
            let principal = try Self.load(handle, on: connection).principal
            _ = try connection.execute(
                "INSERT INTO principal_limits (principal_id) VALUES ($1) ON CONFLICT DO NOTHING", [.int(principal.id)])
            for kind in LimitKind.allCases where set[kind] != nil || clear.contains(kind) {
                _ = try connection.execute(
                    "UPDATE principal_limits SET \(kind.rawValue) = $2, updated_at = now() WHERE principal_id = $1",
                    [.int(principal.id), set[kind].map { .int($0) } ?? .null])
            }
            return try Self.load(handle, on: connection)
        }
    }

    /// Disables or enables `handle`.
    public func setDisabled(handle: String, _ disabled: Bool) async throws -> PrincipalRecordView {
        try await database.transaction { connection in
            let principal = try Self.load(handle, on: connection).principal
            _ = try connection.execute("""
                UPDATE principals SET disabled_at = CASE WHEN $2 THEN coalesce(disabled_at, now()) ELSE NULL END
                WHERE id = $1
                """, [.int(principal.id), .bool(disabled)])
            return try Self.load(handle, on: connection)
        }
    }

    private static func load(_ handle: String, on connection: PostgresConnection) throws -> PrincipalRecordView {
        let row = try connection.execute("""
            SELECT p.id, p.name, p.handle, extract(epoch FROM p.created_at)::float8 AS created_at,
                \(PrincipalSettingsStore.columns)
            FROM \(PrincipalSettingsStore.joined)
            WHERE p.handle = $1
            """, [.text(handle)]).rows.first
        guard let row else {
            throw StorageError.notFound("no principal has handle '\(handle.prefix(80))'; AdminService.ListPrincipals lists them")
        }
        return try record(from: row)
    }

    private static func record(from row: PostgresRow) throws -> PrincipalRecordView {
        PrincipalRecordView(
            principal: Principal(id: try row.int("id"), name: try row.string("name"), handle: try row.string("handle")),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")),
            settings: try PrincipalSettingsStore.settings(from: row))
    }
}
