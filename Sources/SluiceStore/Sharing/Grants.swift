import Foundation
import SluicePostgres

/// Grants between principals: make, revoke, list. Every change to the `grants` table goes
/// through `grant` and `revoke` here, each one transaction, so that whatever else must happen
/// with a grant change (a change-log record, say) has exactly one place to happen in.
///
/// Only an owner grants access to its own objects; a grantee holds no right to re-share.
public final class Grants: Sendable {
    let database: PostgresPool
    let limits: StorageLimits
    let pageTokens: PageTokens
    /// Reclaims the bytes of the grantee sessions a grant change aborts.
    let reclaimer: BlobReclaimer

    public init(database: PostgresPool, blobs: any BlobStore, limits: StorageLimits, pageTokens: PageTokens) {
        self.database = database
        self.limits = limits
        self.pageTokens = pageTokens
        self.reclaimer = BlobReclaimer(database: database, blobs: blobs, limits: limits)
    }

    /// Grants (or changes) `grantee`'s access to `owner`'s object or prefix. Lowering WRITE to
    /// READ aborts the grantee's open sessions that it leaves without write access, as
    /// ``revoke(by:from:scope:path:)`` does. Granting the access already granted changes
    /// nothing, so a retried call leaves no trace: no change-log record, the same
    /// `updatedAt`. NOT_FOUND when no principal has the handle; INVALID_ARGUMENT for a
    /// malformed handle, oneself or a bad path.
    public func grant(
        by owner: Principal, to grantee: String, scope: GrantScope, path: String, access: GrantAccess
    ) async throws -> GrantRecord {
        let grantee = try PrincipalHandle.parse(grantee, field: "grantee")
        let path = try Self.normalized(path, scope: scope)
        let (record, released) = try await database.transaction { connection -> (GrantRecord, [BlobKey]) in
            let granteeID = try Self.grantee(grantee, of: owner, on: connection)
            // Lowering WRITE to READ aborts the grantee's sessions it no longer lets commit.
            let answers = try connection.execute(pipeline: [
                GranteeSessions.locking(owner: owner, grantee: grantee),
                // An unchanged grant is not updated, so it comes back from the next statement
                // only (which sees it: this one locked it, or inserted it).
                PostgresStatement("""
                    INSERT INTO grants (owner_id, grantee_id, scope, path, access) VALUES ($1, $2, $3, $4, $5)
                    ON CONFLICT (owner_id, grantee_id, scope, path)
                    DO UPDATE SET access = EXCLUDED.access, updated_at = now() WHERE grants.access <> EXCLUDED.access
                    """, [.int(owner.id), .int(granteeID), .text(scope.rawValue), .text(path), .text(access.rawValue)]),
                PostgresStatement("""
                    SELECT extract(epoch FROM updated_at)::float8 AS updated_at FROM grants
                    WHERE owner_id = $1 AND grantee_id = $2 AND scope = $3 AND path = $4
                    """, [.int(owner.id), .int(granteeID), .text(scope.rawValue), .text(path)]),
                GranteeSessions.abortingUnwritable(owner: owner, grantee: grantee),
            ])
            guard let row = answers[2].rows.first else {
                throw StorageError.aborted("the grant could not be recorded; grant again")
            }
            let record = GrantRecord(
                owner: owner.handle, grantee: grantee, scope: scope, path: path, access: access,
                updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")))
            let released = try SessionRelease.outcome(of: answers[3]).released
            guard answers[1].affectedRows == 1 else { return (record, released) }
            ChangeLog.record(
                .grantAdded(
                    ChangeGrant(
                        ownerID: owner.id, granteeID: granteeID, scope: scope.rawValue, path: path,
                        access: access.rawValue),
                    actorID: owner.id),
                on: connection)
            return (record, released)
        }
        await reclaimer.reclaimRegardless(among: released)
        return record
    }

    /// Removes a grant `owner` made; the grantee's next call no longer has it, and its open
    /// upload sessions into the owner's folder that no remaining grant lets it write are
    /// aborted in the same transaction, releasing what they reserved (``GranteeSessions``).
    /// NOT_FOUND when there is no such grant; INVALID_ARGUMENT for a malformed handle or path.
    public func revoke(by owner: Principal, from grantee: String, scope: GrantScope, path: String) async throws
        -> GrantRecord
    {
        let grantee = try PrincipalHandle.parse(grantee, field: "grantee")
        let path = try Self.normalized(path, scope: scope)
        let missing = StorageError.notFound(
            "you have no \(scope.rawValue) grant on '\(path)' to '\(grantee)'; see ListGrants (sluice shares) for the grants you made")
        let (record, released) = try await database.transaction { connection -> (GrantRecord, [BlobKey]) in
            let answers = try connection.execute(pipeline: [
                GranteeSessions.locking(owner: owner, grantee: grantee),
                PostgresStatement("""
                    DELETE FROM grants g USING principals e
                    WHERE g.owner_id = $1 AND e.id = g.grantee_id AND e.handle = $2 AND g.scope = $3 AND g.path = $4
                    RETURNING g.grantee_id, g.access, extract(epoch FROM g.updated_at)::float8 AS updated_at
                    """, [.int(owner.id), .text(grantee), .text(scope.rawValue), .text(path)]),
                GranteeSessions.abortingUnwritable(owner: owner, grantee: grantee),
            ])
            let row = answers[1].rows.first
            guard let row else { throw missing }
            ChangeLog.record(
                .grantRevoked(
                    ChangeGrant(
                        ownerID: owner.id, granteeID: try row.int("grantee_id"), scope: scope.rawValue, path: path,
                        access: try row.string("access")),
                    actorID: owner.id),
                on: connection)
            let record = GrantRecord(
                owner: owner.handle, grantee: grantee, scope: scope, path: path,
                access: GrantAccess(rawValue: try row.string("access")) ?? .read,
                updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")))
            return (record, try SessionRelease.outcome(of: answers[2]).released)
        }
        await reclaimer.reclaimRegardless(among: released)
        return record
    }

    /// The grants `owner` made (only to `grantee` when given), in (grantee, scope, path) order.
    /// A malformed `grantee` is INVALID_ARGUMENT; an unknown one lists nothing.
    public func made(by owner: Principal, to grantee: String?, pageSize: Int, pageToken: String) async throws
        -> (grants: [GrantRecord], nextPageToken: String)
    {
        let grantee = try grantee.map { handle throws(StorageError) in try PrincipalHandle.parse(handle, field: "grantee") }
        return try await page(of: owner, side: .made, other: grantee, pageSize: pageSize, pageToken: pageToken)
    }

    /// The grants made to `grantee` (only by `owner` when given), in (owner, scope, path) order.
    /// A malformed `owner` is INVALID_ARGUMENT; an unknown one lists nothing.
    public func received(by grantee: Principal, from owner: String?, pageSize: Int, pageToken: String) async throws
        -> (grants: [GrantRecord], nextPageToken: String)
    {
        let owner = try owner.map { handle throws(StorageError) in try PrincipalHandle.parse(handle, field: "owner") }
        return try await page(of: grantee, side: .received, other: owner, pageSize: pageSize, pageToken: pageToken)
    }

    private enum Side {
        case made, received
    }

    private func page(of principal: Principal, side: Side, other: String?, pageSize: Int, pageToken: String)
        async throws -> (grants: [GrantRecord], nextPageToken: String)
    {
        let size = try Paging.size(pageSize, limit: limits.maxPageSize)
        let listing: PageTokens.Listing = side == .made ? .grants : .sharedWithMe
        let parameters = [other ?? ""]
        let after = try Self.cursor(pageTokens.redeem(pageToken, for: listing, principal: principal, parameters: parameters))
        // `mine` is the principal's side of the grant, `other` the side the listing orders by.
        let (mine, theirs) = side == .made ? ("g.owner_id", "e") : ("g.grantee_id", "o")
        let rows = try await database.withConnection { connection in
            try connection.execute("""
                SELECT coalesce(o.handle, '') AS owner, coalesce(e.handle, '') AS grantee, g.scope, g.path, g.access,
                    extract(epoch FROM g.updated_at)::float8 AS updated_at
                FROM grants g JOIN principals o ON o.id = g.owner_id JOIN principals e ON e.id = g.grantee_id
                WHERE \(mine) = $1 AND ($2::text IS NULL OR \(theirs).handle = $2)
                  AND ($3::text IS NULL OR (\(theirs).handle, g.scope, g.path) > ($3, $4, $5))
                ORDER BY \(theirs).handle, g.scope, g.path LIMIT $6
                """, [
                    .int(principal.id), other.map { .text($0) } ?? .null, after.map { .text($0.handle) } ?? .null,
                    .text(after?.scope ?? ""), .text(after?.path ?? ""), .int(Int64(size + 1)),
                ]).rows
        }
        let records = try rows.prefix(size).map { row in
            GrantRecord(
                owner: try row.string("owner"), grantee: try row.string("grantee"),
                scope: GrantScope(rawValue: try row.string("scope")) ?? .object, path: try row.string("path"),
                access: GrantAccess(rawValue: try row.string("access")) ?? .read,
                updatedAt: Date(timeIntervalSince1970: try row.double("updated_at")))
        }
        var next = ""
        if rows.count > size, let last = records.last {
            let handle = side == .made ? last.grantee : last.owner
            next = pageTokens.issue(
                [handle, last.scope.rawValue, last.path].joined(separator: "\u{0}"), for: listing,
                principal: principal, parameters: parameters)
        }
        return (records, next)
    }

    private static func cursor(_ text: String?) throws(StorageError) -> (handle: String, scope: String, path: String)? {
        guard let text else { return nil }
        let parts = text.split(separator: "\u{0}", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3 else {
            throw .invalidArgument("page_token is not one this server issued; pass the next_page_token you received")
        }
        return (parts[0], parts[1], parts[2])
    }

    /// The grantee's id; NOT_FOUND for an unknown handle, INVALID_ARGUMENT for the owner itself.
    private static func grantee(_ handle: String, of owner: Principal, on connection: PostgresConnection) throws -> Int64 {
        let row = try connection.execute("SELECT id FROM principals WHERE handle = $1", [.text(handle)]).rows.first
        guard let row else {
            throw StorageError.notFound(
                "no principal has handle '\(handle)'; ask them for it (sluice whoami), or have the "
                    + "operator register it (sluiced --register-principal)")
        }
        let id = try row.int("id")
        guard id != owner.id else {
            throw StorageError.invalidArgument("'\(handle)' is your own handle; you always have access to your objects")
        }
        return id
    }

    /// The path as stored: an object name as given; a prefix ending with "/" (added when
    /// missing). Both follow the object-name rules.
    public static func normalized(_ path: String, scope: GrantScope) throws(StorageError) -> String {
        switch scope {
        case .object:
            return try ObjectName.validate(path, field: "path")
        case .prefix:
            _ = try ObjectName.validate(path, field: "path")
            let prefix = path.hasSuffix("/") ? path : path + "/"
            return try ObjectName.validate(prefix, field: "path with its trailing '/'")
        }
    }
}
