import Foundation
import SluicePostgres

/// Reads the change log for a caller: only the changes it may see, in commit order.
///
/// A version or delete on (owner, name) is visible to the owner and to any principal that
/// holds a grant (of any access) from that owner covering the name when the log is read; a
/// grant change is visible to the grant's owner and grantee. The filter runs in the query
/// that reads the log, against the grants as they are in the same snapshot.
public final class ChangeFeed: Sendable {
    private let database: PostgresPool
    /// How many positions one read looks at, at most: bounds the work a read does when the
    /// caller can see few of the changes.
    public static let scanWindow: Int64 = 1000

    public init(database: PostgresPool) {
        self.database = database
    }

    /// The newest position (the cursor a watcher starting "from now" begins at).
    public func head() async throws -> ChangeCursor {
        try await database.withConnection { connection in
            ChangeCursor(position: try Self.state(on: connection).last)
        }
    }

    /// The oldest cursor still resumable (below it the log was pruned).
    public func oldest() async throws -> ChangeCursor {
        try await database.withConnection { connection in
            ChangeCursor(position: try Self.state(on: connection).pruned)
        }
    }

    /// The newest position as the transaction on `connection` sees it; read in the snapshot of
    /// a listing, it is the cursor that resumes exactly after what the listing shows.
    public static func head(on connection: PostgresConnection) throws -> ChangeCursor {
        ChangeCursor(position: try state(on: connection).last)
    }

    /// Up to `limit` changes after `cursor` that `caller` can see, looking at no more than
    /// `scanWindow` positions; `owner` (a handle, "" for any) and `prefix` narrow them.
    ///
    /// A watcher's read (`forWatcher`) waits for a connection behind the calls that write and
    /// shares at most half the pool with the other watchers' (``JobPriority/background``):
    /// every watcher reads at every commit, and a thousand idle ones must not make the
    /// commits wait.
    ///
    /// - Throws: `StorageError.outOfRange` for a cursor older than the log keeps (or newer
    ///   than its head: a cursor from another database).
    public func read(
        after cursor: ChangeCursor, for caller: Principal, owner: String, prefix: String, limit: Int,
        forWatcher: Bool = false
    ) async throws -> ChangePage {
        // The window's end is worked out here, saturating: a cursor near Int64.max (refused
        // below as ahead of the head) must not overflow bigint arithmetic in the query.
        let windowEnd = cursor.position > Int64.max - Self.scanWindow ? Int64.max : cursor.position + Self.scanWindow
        let rows = try await database.withConnection(priority: forWatcher ? .background : .normal) { connection in
            try connection.execute("""
                SELECT s.last_position, s.pruned_through, c.position, c.kind, c.name, c.version, c.size, c.sha256,
                    c.grant_scope, c.grant_access, extract(epoch FROM c.committed_at)::float8 AS committed_at,
                    coalesce(po.handle, '') AS owner_handle, coalesce(pa.handle, '') AS actor_handle,
                    coalesce(pg.handle, '') AS grantee_handle
                FROM change_log_state s
                LEFT JOIN LATERAL (
                    SELECT * FROM changes c
                    WHERE c.position > $1 AND c.position <= $2
                      AND ($4 = '' OR c.owner_id = (SELECT p.id FROM principals p WHERE p.handle = $4))
                      AND CASE WHEN c.kind IN ('grant_added', 'grant_revoked') THEN
                              $3 IN (c.owner_id, c.grantee_id)
                              AND (starts_with(c.name, $5) OR (c.grant_scope = 'prefix' AND starts_with($5, c.name)))
                          ELSE
                              starts_with(c.name, $5)
                              AND (c.owner_id = $3 OR EXISTS (
                                  SELECT 1 FROM grants g
                                  WHERE g.owner_id = c.owner_id AND g.grantee_id = $3
                                    AND CASE g.scope WHEN 'object' THEN g.path = c.name
                                        ELSE starts_with(c.name, g.path) END))
                          END
                    ORDER BY c.position LIMIT $6
                ) c ON true
                LEFT JOIN principals po ON po.id = c.owner_id
                LEFT JOIN principals pa ON pa.id = c.actor_id
                LEFT JOIN principals pg ON pg.id = c.grantee_id
                ORDER BY c.position
                """, [
                    .int(cursor.position), .int(windowEnd), .int(caller.id), .text(owner), .text(prefix),
                    .int(Int64(limit)),
                ]).rows
        }
        guard let first = rows.first else {
            throw PostgresError(.server, "the change log has no state row (migration 4 not applied)")
        }
        let head = try first.int("last_position")
        try Self.check(cursor, head: head, pruned: try first.int("pruned_through"))
        let changes = try rows.filter { try !$0.isNull("position") }.map(Self.event(from:))
        let through = changes.count >= limit
            ? changes.last!.cursor : ChangeCursor(position: min(windowEnd, head))
        return ChangePage(changes: changes, through: through, head: ChangeCursor(position: head))
    }

    /// Refuses a cursor the log cannot resume from.
    private static func check(_ cursor: ChangeCursor, head: Int64, pruned: Int64) throws(StorageError) {
        if cursor.position < pruned {
            throw .outOfRange(
                "cursor \(cursor) is older than the changes this server keeps (the oldest resumable cursor is "
                    + "\(ChangeCursor(position: pruned))); resynchronise: list the objects again and watch from "
                    + "the listing's change_cursor")
        }
        if cursor.position > head {
            throw .outOfRange(
                "cursor \(cursor) is ahead of this server's change log (newest \(ChangeCursor(position: head))): "
                    + "it comes from another database; resynchronise: list the objects again and watch from the "
                    + "listing's change_cursor")
        }
    }

    private static func state(on connection: PostgresConnection) throws -> (last: Int64, pruned: Int64) {
        guard let row = try connection.execute("SELECT last_position, pruned_through FROM change_log_state").rows.first
        else { throw PostgresError(.server, "the change log has no state row (migration 4 not applied)") }
        return (try row.int("last_position"), try row.int("pruned_through"))
    }

    private static func event(from row: PostgresRow) throws -> ChangeEvent {
        let kindText = try row.string("kind")
        guard let kind = ChangeEvent.Kind(rawValue: kindText) else {
            throw PostgresError(.server, "unknown change kind '\(kindText)' in the change log")
        }
        return ChangeEvent(
            cursor: ChangeCursor(position: try row.int("position")), kind: kind,
            owner: try row.string("owner_handle"), name: try row.string("name"), actor: try row.string("actor_handle"),
            committedAt: Date(timeIntervalSince1970: try row.double("committed_at")),
            version: try row.optionalInt("version") ?? 0, size: try row.optionalInt("size") ?? 0,
            sha256: try row.optionalBytes("sha256") ?? [], grantee: try row.string("grantee_handle"),
            grantScope: try row.optionalString("grant_scope") ?? "", grantAccess: try row.optionalString("grant_access") ?? "")
    }
}
