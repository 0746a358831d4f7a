import Foundation
import SluicePostgres
import Synchronization

/// Records principals on first use, gives each a handle, and remembers them.
public final class PrincipalDirectory: Sendable {
    let database: PostgresPool
    /// Keyed by the subject's UTF-8 bytes: Swift's String equality treats canonically
    /// equivalent spellings as equal, but they are different certificate subjects.
    private let known = Mutex<[[UInt8]: Principal]>([:])

    /// How many numeric suffixes (`alice-2` … ) are tried; past them (10,000 principals with
    /// one suggested handle) the handle is `p-` and 24 hex digits of the identity's MD5.
    static let maxHandleSuffix = 10_000

    public init(database: PostgresPool) {
        self.database = database
    }

    /// The principal for a verified certificate subject, created on first sight. A principal
    /// without a handle (recorded before handles existed) gets one now; a handle, once set,
    /// never changes.
    /// ``IdentityTooLong`` when the name is too long for PostgreSQL to index.
    public func principal(named name: String) async throws -> Principal {
        let key = Array(name.utf8)
        if let principal = known.withLock({ $0[key] }) { return principal }
        let principal = try await IdentityTooLong.mapping(name) { try await self.record(name) }
        known.withLock { $0[key] = principal }
        return principal
    }

    private func record(_ name: String) async throws -> Principal {
        try await database.transaction { connection in
            try Self.lockHandles(on: connection)
            // The free handle is chosen and taken in one statement while every other writer
            // of handles waits on the lock, so two new principals never pick the same one.
            let result = try connection.execute("""
                INSERT INTO principals (name, handle) VALUES ($1, coalesce((
                    SELECT c.handle FROM (
                        SELECT s, CASE WHEN s = 1 THEN $2 ELSE $2 || '-' || s END AS handle
                        FROM generate_series(1, $3::int) s) c
                    WHERE NOT EXISTS (SELECT 1 FROM principals p WHERE p.handle = c.handle)
                    ORDER BY c.s LIMIT 1), 'p-' || left(md5($1), 24)))
                ON CONFLICT (name) DO UPDATE SET handle = coalesce(principals.handle, EXCLUDED.handle)
                RETURNING id, handle
                """, [.text(name), .text(PrincipalHandle.suggested(by: name)), .int(Int64(Self.maxHandleSuffix))])
            guard let row = result.rows.first, let handle = try row.optionalString("handle") else {
                throw StorageError.aborted("the principal could not be recorded; send the request again")
            }
            return Principal(id: try row.int("id"), name: name, handle: handle)
        }
    }

    /// The principal holding `handle`, or nil when nobody does.
    public func principal(handle: String) async throws -> Principal? {
        guard PrincipalHandle.isValid(handle) else { return nil }
        return try await database.withConnection { connection in
            try connection.execute("SELECT id, name FROM principals WHERE handle = $1", [.text(handle)]).rows.first
                .map { Principal(id: try $0.int("id"), name: try $0.string("name"), handle: handle) }
        }
    }

    /// When the principal became known.
    public func creationTime(of principal: Principal) async throws -> Date? {
        try await database.withConnection { connection in
            try connection.execute(
                "SELECT extract(epoch FROM created_at)::float8 AS created_at FROM principals WHERE id = $1",
                [.int(principal.id)]
            ).rows.first.map { Date(timeIntervalSince1970: try $0.double("created_at")) }
        }
    }

    /// Records `identity` (as the principal mapping names it) under `handle` before it ever
    /// calls, so that others can share with it. Registering the same pair again changes
    /// nothing; a handle held by another identity, or an identity that already has another
    /// handle, is FAILED_PRECONDITION (handles never change). A malformed handle, or an empty
    /// identity or one holding a NUL (no certificate mapping makes one), is INVALID_ARGUMENT.
    public func register(handle: String, identity: String) async throws -> Principal {
        let handle = try PrincipalHandle.parse(handle, field: "handle")
        guard !identity.isEmpty else { throw StorageError.invalidArgument("the identity to register under '\(handle)' is empty") }
        guard !identity.utf8.contains(0) else {
            throw StorageError.invalidArgument(
                "the identity to register under '\(handle)' contains a NUL character; give it as --principal-from "
                    + "names the certificate (sluice whoami prints it)")
        }
        do {
            return try await IdentityTooLong.mapping(identity) { try await self.record(identity, as: handle) }
        } catch let tooLong as IdentityTooLong {
            throw StorageError.invalidArgument("the identity to register under '\(handle)' is \(tooLong)")
        }
    }

    private func record(_ identity: String, as handle: String) async throws -> Principal {
        try await database.transaction { connection in
            try Self.lockHandles(on: connection)
            if let holder = try connection.execute(
                "SELECT name FROM principals WHERE handle = $1", [.text(handle)]).rows.first,
                Array(try holder.string("name").utf8) != Array(identity.utf8)
            {
                throw StorageError.failedPrecondition(
                    "handle '\(handle)' already belongs to identity '\(try holder.string("name"))'; choose another handle")
            }
            if let existing = try connection.execute(
                "SELECT handle FROM principals WHERE name = $1", [.text(identity)]).rows.first,
                let other = try existing.optionalString("handle"), other != handle
            {
                throw StorageError.failedPrecondition(
                    "identity '\(identity)' already has handle '\(other)'; handles never change")
            }
            let row = try connection.execute("""
                INSERT INTO principals (name, handle) VALUES ($1, $2)
                ON CONFLICT (name) DO UPDATE SET handle = EXCLUDED.handle RETURNING id
                """, [.text(identity), .text(handle)]).rows.first
            guard let row else { throw StorageError.aborted("the principal could not be registered; try again") }
            return Principal(id: try row.int("id"), name: identity, handle: handle)
        }
    }

    /// Serializes every statement that assigns handles (held to the end of the transaction).
    static func lockHandles(on connection: PostgresConnection) throws {
        _ = try connection.execute("SELECT pg_advisory_xact_lock(hashtext('sluice.principal_handles'))")
    }
}
