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
    let pageTokens: PageTokens
    /// Reclaims the bytes of the sessions an administrator aborts.
    let reclaimer: BlobReclaimer

    public init(database: PostgresPool, blobs: any BlobStore, limits: StorageLimits, pageTokens: PageTokens) {
        self.database = database
        self.pageTokens = pageTokens
        self.reclaimer = BlobReclaimer(database: database, blobs: blobs, limits: limits)
    }

    /// Most principals on one page.
    public static let maxPageSize = 1000

    /// A page of principals in handle order: `pageSize` (0 for 100, at most `maxPageSize`) of
    /// them after where `pageToken` (empty for the first page) left off, fewer when their encoded
    /// size would pass ``PageBudget/maxBytes`` (an identity has no fixed length), and the token
    /// of the next page (empty after the last). Tokens are ``PageTokens`` bound to the
    /// administrator listing: a token not issued to `admin` by this listing is INVALID_ARGUMENT.
    public func list(pageSize: Int, pageToken: String, for admin: Principal) async throws
        -> (page: [PrincipalRecordView], nextPageToken: String)
    {
        let size = pageSize == 0 ? 100 : pageSize
        guard (1...Self.maxPageSize).contains(size) else {
            throw StorageError.invalidArgument("page_size must be 0 to \(Self.maxPageSize), got \(pageSize)")
        }
        let afterHandle = try pageTokens.redeem(pageToken, for: .principals, principal: admin, parameters: []) ?? ""
        let (items, more) = try await database.withConnection { connection in
            var after = afterHandle
            let page = try ListingPage<PrincipalRecordView>.read(size: size) {
                try connection.execute(PageBudget.bounded("""
                    SELECT p.id, p.name, p.handle, extract(epoch FROM p.created_at)::float8 AS created_at,
                        \(PrincipalSettingsStore.columns),
                        (\(2 * PageBudget.fixedBytes) + octet_length(p.name) + octet_length(p.handle)) AS page_cost
                    FROM \(PrincipalSettingsStore.joined)
                    WHERE p.handle IS NOT NULL AND p.handle > $1
                    ORDER BY p.handle LIMIT $2
                    """, order: "handle"), [.text(after), .int(Int64(size + 1))]).rows
            } item: { row in
                let view = try Self.record(from: row)
                after = view.principal.handle
                return (view, PageBudget.encodedSize(of: view))
            }
            return (page.items, page.hasMore)
        }
        guard more, let last = items.last else { return (items, "") }
        return (items, pageTokens.issue(last.principal.handle, for: .principals, principal: admin, parameters: []))
    }

    /// The principal holding `handle`; NOT_FOUND when nobody does, INVALID_ARGUMENT when it is
    /// not spelled as a handle.
    public func record(handle: String) async throws -> PrincipalRecordView {
        try await database.withConnection { connection in try Self.load(handle, on: connection) }
    }

    /// The stored settings of a principal (an unknown id has none).
    public func settings(of principalID: Int64) async throws -> PrincipalSettings {
        try await database.withConnection { connection in try PrincipalSettingsStore.load(principalID, on: connection) }
    }

    /// Sets (`set`) and removes (`clear`) overrides of `handle`'s limits; values must not be
    /// negative (0 is unlimited). Each limit is named at most once in a request: one set twice
    /// (which value was meant?), cleared twice, or both set and cleared is INVALID_ARGUMENT.
    public func setLimits(handle: String, set changes: [(LimitKind, Int64)], clear cleared: [LimitKind]) async throws
        -> PrincipalRecordView
    {
        let (set, clear) = try Self.overrides(set: changes, clear: cleared)
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

    /// The request's changes as one value per limit, each limit named once.
    private static func overrides(set changes: [(LimitKind, Int64)], clear cleared: [LimitKind]) throws(StorageError)
        -> (set: [LimitKind: Int64], clear: Set<LimitKind>)
    {
        var set: [LimitKind: Int64] = [:]
        for (kind, value) in changes {
            guard value >= 0 else {
                throw .invalidArgument("\(kind.rawValue) must not be negative (0 is unlimited), got \(value)")
            }
            guard value <= kind.largest else {
                throw .invalidArgument("\(kind.rawValue) must be at most \(kind.largest) (0 is unlimited), got \(value)")
            }
            guard set.updateValue(value, forKey: kind) == nil else {
                throw .invalidArgument("\(kind.rawValue) is set twice; set each limit once")
            }
        }
        var clear = Set<LimitKind>()
        for kind in cleared {
            guard set[kind] == nil else { throw .invalidArgument("\(kind.rawValue) is both set and cleared; do one") }
            guard clear.insert(kind).inserted else {
                throw .invalidArgument("\(kind.rawValue) is cleared twice; clear each limit once")
            }
        }
        return (set, clear)
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

    static func load(_ handle: String, on connection: PostgresConnection) throws -> PrincipalRecordView {
        let handle = try PrincipalHandle.parse(handle, field: "handle")
        let row = try connection.execute("""
            SELECT p.id, p.name, p.handle, extract(epoch FROM p.created_at)::float8 AS created_at,
                \(PrincipalSettingsStore.columns)
            FROM \(PrincipalSettingsStore.joined)
            WHERE p.handle = $1
            """, [.text(handle)]).rows.first
        guard let row else {
            throw StorageError.notFound("no principal has handle '\(handle)'; AdminService.ListPrincipals (sluice admin principals) lists them")
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
