import Foundation
import SluicePostgres

/// Committed objects and their versions: describe, list versions, restore, delete.
/// Every query is scoped to the owner a call addresses (the caller by default) and, for
/// anyone but the owner, to the grants covering the name (``AccessRule``, in the same
/// statement): an object the caller has no grant on is indistinguishable from a missing one.
public final class ObjectCatalog: Sendable {
    let database: PostgresPool
    let limits: StorageLimits
    let pageTokens: PageTokens
    /// Reclaims the bytes a delete lets go.
    let reclaimer: BlobReclaimer

    public init(database: PostgresPool, blobs: any BlobStore, limits: StorageLimits, pageTokens: PageTokens) {
        self.database = database
        self.limits = limits
        self.pageTokens = pageTokens
        self.reclaimer = BlobReclaimer(database: database, blobs: blobs, limits: limits)
    }

    static let versionColumns = versionColumns()

    /// The columns ``record(from:)`` reads; `userMetadata` is the SQL of the user metadata as
    /// JSON text (a listing leaves out the metadata of names it rolls up into a common prefix).
    static func versionColumns(userMetadata: String = "v.user_metadata::text") -> String {
        """
        o.name, v.version, v.size, v.sha256, v.sha256_state, v.composite_sha256, v.content_type, \(userMetadata) AS user_metadata,
        extract(epoch FROM o.created_at)::float8 AS created_at,
        extract(epoch FROM v.committed_at)::float8 AS committed_at,
        v.partition_size, v.partition_count, coalesce(v.version = o.current_version, false) AS is_current, v.restored_from,
        (SELECT p.handle FROM principals p WHERE p.id = o.principal_id) AS owner_handle,
        (SELECT p.handle FROM principals p WHERE p.id = coalesce(v.written_by, o.principal_id)) AS writer_handle
        """
    }

    /// SQL of an upper bound of what a version row adds to a listing page, for
    /// ``PageBudget/bounded(_:order:)``: its strings and its metadata as JSON (at least the
    /// metadata's bytes), or only the name where `userMetadata` leaves the metadata out.
    static func listingCost(userMetadata: String = "v.user_metadata::text") -> String {
        """
        (\(PageBudget.fixedBytes) + octet_length(o.name) + octet_length(v.content_type)
         + octet_length(\(userMetadata)))
        """
    }

    /// One version (0 or nil: the current one), with its partitions, of the caller's object
    /// or (with `owner`) of an object `owner` shares with it.
    public func version(
        _ name: String, _ version: Int64?, of principal: Principal, owner: Principal? = nil
    ) async throws -> ObjectVersionRecord {
        let wanted = try Self.requestedVersion(name, version)
        let owner = owner ?? principal
        let record = try await database.withConnection { connection in
            try Self.version(name, wanted, of: principal, owner: owner, on: connection)
        }
        guard let record else { throw Self.missing(name, wanted) }
        return record
    }

    /// ``version(_:_:of:owner:)`` on a connection, e.g. in the transaction that made the version;
    /// `wanted` nil is the current one. Nil when there is no such version the caller may read.
    static func version(
        _ name: String, _ wanted: Int64?, of principal: Principal, owner: Principal, on connection: PostgresConnection
    ) throws -> ObjectVersionRecord? {
        try version(answeredBy: connection.execute(pipeline: describing(name, wanted, of: principal, owner: owner)),
                    on: connection)
    }

    /// The statements of ``version(_:_:of:owner:on:)``, for a pipeline (e.g. the one that makes
    /// the version): their answers go to ``version(answeredBy:on:)``. One round trip for the
    /// version and its partitions. Each statement sees its own snapshot, so the partitions say
    /// which version they are of: when a commit made another version current in between, they
    /// are read again by the version's id.
    static func describing(_ name: String, _ wanted: Int64?, of principal: Principal, owner: Principal)
        -> [PostgresStatement]
    {
        [
            PostgresStatement("""
                SELECT \(Self.versionColumns), o.id AS object_id FROM objects o
                JOIN object_versions v ON v.object_id = o.id AND v.version = coalesce($3, o.current_version)
                WHERE o.principal_id = $1 AND o.name = $2
                  AND \(AccessRule.level(owner: "$1", caller: "$4", name: "o.name")) IS NOT NULL
                """, [.int(owner.id), .text(name), wanted.map { .int($0) } ?? .null, .int(principal.id)]),
            PostgresStatement("""
                SELECT vp.object_id, vp.version, vp.index, vp."offset", vp.size, vp.sha256, vp.blob_scope,
                    \(DamagedBlobs.recordedColumn(scope: "vp.blob_scope", sha256: "vp.sha256"))
                FROM objects o JOIN version_partitions vp
                    ON vp.object_id = o.id AND vp.version = coalesce($3, o.current_version)
                WHERE o.principal_id = $1 AND o.name = $2 ORDER BY vp.index
                """, [.int(owner.id), .text(name), wanted.map { .int($0) } ?? .null]),
        ]
    }

    /// The version the answers to ``describing(_:_:of:owner:)`` describe; nil when there is no
    /// such version the caller may read.
    static func version(answeredBy answers: [PostgresResult], on connection: PostgresConnection)
        throws -> ObjectVersionRecord?
    {
        guard let row = answers[0].rows.first else { return nil }
        var record = try Self.record(from: row)
        let objectID = try row.int("object_id")
        let partitions = answers[1].rows
        if try partitions.contains(where: { try $0.int("object_id") != objectID || $0.int("version") != record.version })
            || (partitions.isEmpty && record.size > 0)
        {
            record.partitions = try Self.partitions(ofObject: objectID, version: record.version, on: connection)
        } else {
            record.partitions = try partitions.map(Self.partition(from:))
        }
        return record
    }

    /// The partitions of one version of an object, in order.
    static func partitions(ofObject objectID: Int64, version: Int64, on connection: PostgresConnection) throws
        -> [PartitionRecord]
    {
        try connection.execute("""
            SELECT vp.index, vp."offset", vp.size, vp.sha256, vp.blob_scope,
                \(DamagedBlobs.recordedColumn(scope: "vp.blob_scope", sha256: "vp.sha256"))
            FROM version_partitions vp WHERE vp.object_id = $1 AND vp.version = $2 ORDER BY vp.index
            """, [.int(objectID), .int(version)]).rows.map(Self.partition(from:))
    }

    /// The version a committed session made; NOT_FOUND once that object was deleted, even
    /// if its name has been used again since.
    public func version(madeBy session: SessionRecord, _ version: Int64, of principal: Principal) async throws
        -> ObjectVersionRecord
    {
        let objectID = session.committedObjectID
        let owner = session.owner(for: principal)
        let stillThere = try await database.withConnection { connection in
            try !connection.execute(
                "SELECT 1 FROM objects WHERE id = $1 AND principal_id = $2 AND name = $3",
                [objectID.map { .int($0) } ?? .null, .int(owner.id), .text(session.objectName)]
            ).rows.isEmpty
        }
        guard stillThere else {
            // A grantee gets the answer it gets for any version it cannot see: whether the owner
            // deleted the object for good is not a grantee's to learn (after a revoke, least of all).
            if owner.id != principal.id { throw Self.missing(session.objectName, version) }
            throw StorageError.notFound(
                "the object version upload session \(session.id) made (version \(version) of "
                    + "'\(session.objectName)') was deleted")
        }
        return try await self.version(session.objectName, version, of: principal, owner: owner)
    }

    /// The versions of an object, newest first, a page at most ``PageBudget/maxBytes`` long.
    public func versions(
        of name: String, principal: Principal, owner: Principal? = nil, pageSize: Int, pageToken: String
    ) async throws -> (versions: [ObjectVersionRecord], nextPageToken: String) {
        _ = try ObjectName.validate(name)
        let owner = owner ?? principal
        let size = try Paging.size(pageSize, limit: limits.maxPageSize)
        let parameters = [name, String(owner.id)]
        let before = try pageTokens.redeem(pageToken, for: .versions, principal: principal, parameters: parameters)
            .map { text throws(StorageError) -> Int64 in
                guard let version = Int64(text) else { throw .invalidArgument("page_token is not one this server issued") }
                return version
            }
        let (page, hasMore) = try await database.withConnection { connection in
            var before = before
            let page = try ListingPage<ObjectVersionRecord>.read(size: size) {
                try connection.execute(PageBudget.bounded("""
                    SELECT \(Self.versionColumns), \(Self.listingCost()) AS page_cost
                    FROM objects o JOIN object_versions v ON v.object_id = o.id
                    WHERE o.principal_id = $1 AND o.name = $2 AND ($3::bigint IS NULL OR v.version < $3)
                      AND \(AccessRule.level(owner: "$1", caller: "$5", name: "o.name")) IS NOT NULL
                    ORDER BY v.version DESC LIMIT $4
                    """, order: "version DESC"), [
                        .int(owner.id), .text(name), before.map { .int($0) } ?? .null, .int(Int64(size + 1)),
                        .int(principal.id),
                    ]
                ).rows
            } item: { row in
                let record = try Self.record(from: row)
                before = record.version
                return (record, PageBudget.encodedSize(of: record))
            }
            return (page.items, page.hasMore)
        }
        // A later page is never empty while the object exists: empty means it was deleted.
        if page.isEmpty { throw StorageError.notFound("object '\(name)' does not exist") }
        var next = ""
        if hasMore, let last = page.last {
            next = pageTokens.issue(String(last.version), for: .versions, principal: principal, parameters: parameters)
        }
        return (page, next)
    }

    /// Makes an older version current again as a new version that shares its bytes, written
    /// by the caller (the owner, or a WRITE grantee).
    ///
    /// With `ifCurrentVersion` the restore happens only while that version is the current one
    /// (else `failedPrecondition` naming the current version, nothing restored), checked on the
    /// locked object row as for ``delete(_:of:owner:keepVersions:ifCurrentVersion:)``. That makes
    /// a restore safe to retry: once the first call made its version, a retry names a version
    /// that is no longer current and is refused instead of making a duplicate.
    public func restore(
        _ name: String, version: Int64, of principal: Principal, owner: Principal? = nil,
        ifCurrentVersion: Int64? = nil
    ) async throws -> ObjectVersionRecord {
        _ = try ObjectName.validate(name)
        guard version > 0 else { throw StorageError.invalidArgument("version must be positive") }
        try Self.requireValid(ifCurrentVersion, unconditional: "restore whatever version is current")
        let owner = owner ?? principal
        let quotas = limits.defaultQuotas
        // The answer is read in the restore's own transaction: read after it, a delete that
        // committed in between would make a restore that happened answer NOT_FOUND.
        let restored = try await database.transaction { connection -> ObjectVersionRecord? in
            // The owner's row first, as every quota reservation takes it (before object rows).
            _ = try connection.execute("SELECT id FROM principals WHERE id = $1 \(RowLock.exclusive)", [.int(owner.id)])
            let objects = try connection.execute("""
                SELECT o.id, o.current_version, o.next_version,
                    \(AccessRule.level(owner: "$1", caller: "$3", name: "o.name")) AS access
                FROM objects o WHERE o.principal_id = $1 AND o.name = $2
                  AND \(AccessRule.level(owner: "$1", caller: "$3", name: "o.name")) IS NOT NULL
                \(RowLock.exclusive) OF o
                """, [.int(owner.id), .text(name), .int(principal.id)]).rows
            guard let object = objects.first else { throw StorageError.notFound("object '\(name)' does not exist") }
            try AccessRule.require(.write, granted: try object.optionalString("access"), name: name, owner: owner)
            let current = try object.optionalInt("current_version")
            if let expected = ifCurrentVersion, current != expected {
                throw Self.notCurrent(name, expected: expected, current: current, nothing: "restored")
            }
            let objectID = try object.int("id")
            let newVersion = try object.int("next_version")
            // The restored version's bytes count against the owner's byte quota like any other version.
            if let size = try connection.execute(
                "SELECT size FROM object_versions WHERE object_id = $1 AND version = $2",
                [.int(objectID), .int(version)]).rows.first
            {
                try QuotaReservation.reserve(
                    bytes: try size.int("size"), objectName: name, owner: owner, caller: principal, defaults: quotas,
                    on: connection)
            }
            let copied = try connection.execute("""
                INSERT INTO object_versions (object_id, version, size, sha256, sha256_state, declared_sha256,
                    composite_sha256, content_type, user_metadata, partition_size, partition_count, restored_from,
                    written_by)
                SELECT object_id, $3, size, sha256, sha256_state, declared_sha256, composite_sha256, content_type,
                    user_metadata, partition_size, partition_count, version, $4
                FROM object_versions WHERE object_id = $1 AND version = $2
                """, [.int(objectID), .int(version), .int(newVersion), .int(principal.id)]).affectedRows
            guard copied == 1 else { throw StorageError.notFound("object '\(name)' has no version \(version)") }
            _ = try connection.execute("""
                INSERT INTO version_partitions (object_id, version, index, "offset", size, sha256, blob_scope)
                SELECT object_id, $3, index, "offset", size, sha256, blob_scope
                FROM version_partitions WHERE object_id = $1 AND version = $2
                """, [.int(objectID), .int(version), .int(newVersion)])
            _ = try connection.execute("""
                UPDATE objects SET current_version = $2, next_version = $2 + 1 WHERE id = $1
                """, [.int(objectID), .int(newVersion)])
            guard let restoredVersion = try connection.execute(
                "SELECT size, sha256 FROM object_versions WHERE object_id = $1 AND version = $2",
                [.int(objectID), .int(newVersion)]).rows.first
            else { throw StorageError.aborted("object '\(name)' changed during the restore; restore again") }
            ChangeLog.record(
                .versionCreated(
                    ownerID: owner.id, name: name, version: newVersion, size: try restoredVersion.int("size"),
                    sha256: try restoredVersion.optionalBytes("sha256") ?? [], actorID: principal.id),
                on: connection)
            return try Self.version(name, newVersion, of: principal, owner: owner, on: connection)
        }
        guard let restored else { throw StorageError.notFound("object '\(name)' does not exist") }
        return restored
    }

    /// Deletes an object with every version and returns how many versions went: those the
    /// delete destroyed, counted under the object row lock, so a version committed while the
    /// delete waited for that lock is counted too. Their bytes go before this returns, unless
    /// something else keeps them (another version, a session, an upload in flight); otherwise
    /// committing a quota's worth, deleting and repeating filled the disk with bytes counted
    /// nowhere. With `keepVersions` the object only loses its current version
    /// (a delete marker: hidden from reads of the current version and from listings) and its
    /// versions stay listed, readable by number and restorable; that returns 0. Either way the
    /// change feed records the delete.
    ///
    /// With `ifCurrentVersion` the delete happens only while that version is the current one
    /// (else `failedPrecondition` naming the current version, nothing deleted). It is checked on
    /// the object row locked for the delete, which every commit locks too, so a version
    /// committed after the caller last looked cannot be deleted unseen (a separate look
    /// before the delete could not promise that).
    public func delete(
        _ name: String, of principal: Principal, owner: Principal? = nil, keepVersions: Bool = false,
        ifCurrentVersion: Int64? = nil
    ) async throws -> Int64 {
        _ = try ObjectName.validate(name)
        try Self.requireValid(ifCurrentVersion, unconditional: "delete whatever version is current")
        let owner = owner ?? principal
        let deleted = try await database.transaction { connection -> (versions: Int64, released: [BlobKey])? in
            let objects = try connection.execute("""
                SELECT o.id, o.current_version, \(AccessRule.level(owner: "$1", caller: "$3", name: "o.name")) AS access
                FROM objects o WHERE o.principal_id = $1 AND o.name = $2
                  AND \(AccessRule.level(owner: "$1", caller: "$3", name: "o.name")) IS NOT NULL
                FOR UPDATE OF o
                """, [.int(owner.id), .text(name), .int(principal.id)]).rows
            guard let object = objects.first else { return nil }
            try AccessRule.require(.write, granted: try object.optionalString("access"), name: name, owner: owner)
            let objectID = try object.int("id")
            let current = try object.optionalInt("current_version")
            if let expected = ifCurrentVersion, current != expected {
                throw Self.notCurrent(name, expected: expected, current: current, nothing: "deleted")
            }
            var destroyed: Int64 = 0
            var released: [BlobKey] = []
            if keepVersions {
                guard current != nil else {
                    throw StorageError.notFound(
                        "object '\(name)' does not exist (it was deleted and its versions kept; delete it without "
                            + "keep_versions to remove them)")
                }
                _ = try connection.execute("UPDATE objects SET current_version = NULL WHERE id = $1", [.int(objectID)])
            } else {
                // The versions are deleted and counted by their own statement, after the lock: a
                // count in the locking SELECT sees that statement's snapshot, taken before it waited,
                // and so misses the version of a commit that held the row first. The name keeps
                // its next version number (``Schema``, retired_names).
                let answers = try connection.execute(pipeline: [
                    PostgresStatement(
                        "SELECT DISTINCT blob_scope, sha256 FROM version_partitions WHERE object_id = $1",
                        [.int(objectID)]),
                    PostgresStatement("DELETE FROM object_versions WHERE object_id = $1", [.int(objectID)]),
                    PostgresStatement("""
                        WITH gone AS (DELETE FROM objects WHERE id = $1 RETURNING principal_id, name, next_version)
                        INSERT INTO retired_names (principal_id, name, next_version) SELECT * FROM gone
                        ON CONFLICT (principal_id, name) DO UPDATE
                        SET next_version = greatest(retired_names.next_version, EXCLUDED.next_version)
                        """, [.int(objectID)]),
                ])
                destroyed = Int64(answers[1].affectedRows)
                released = try answers[0].rows.map { row in
                    try BlobKey(scope: try row.string("blob_scope"), sha256: try row.bytes("sha256"))
                }
            }
            ChangeLog.record(.objectDeleted(ownerID: owner.id, name: name, actorID: principal.id), on: connection)
            return (destroyed, released)
        }
        guard let deleted else { throw StorageError.notFound("object '\(name)' does not exist") }
        await reclaimer.reclaimRegardless(among: deleted.released)
        return deleted.versions
    }

    /// Refuses an `if_current_version` that names no version; `unconditional` says what 0 does.
    private static func requireValid(_ ifCurrentVersion: Int64?, unconditional: String) throws(StorageError) {
        guard ifCurrentVersion.map({ $0 > 0 }) ?? true else {
            throw .invalidArgument(
                "if_current_version must be positive (the version expected to be current), or 0 to \(unconditional)")
        }
    }

    /// The refusal of a conditional delete or restore whose expected version is not the current
    /// one: what is current instead, so the caller can look at it before deciding again.
    private static func notCurrent(_ name: String, expected: Int64, current: Int64?, nothing done: String)
        -> StorageError
    {
        let state = current.map { "is at version \($0)" }
            ?? "has no current version (it was deleted and its versions kept)"
        return .failedPrecondition("'\(name)' \(state), not \(expected); nothing was \(done)")
    }

    /// Most partitions one read may ask for (``partitions(from:count:of:version:principal:owner:)``):
    /// their rows are loaded at once, before any byte is sent.
    public static let maxPartitionsPerRead = 1024

    /// One partition of a version, read on its own (a version may have thousands).
    public func partition(
        _ index: Int, of name: String, version: Int64?, principal: Principal, owner: Principal? = nil
    ) async throws -> PartitionRecord {
        try await partitions(from: index, count: 1, of: name, version: version, principal: principal, owner: owner)[0]
    }

    /// `count` consecutive partitions of a version from `first` (fewer where the version ends),
    /// in order, loaded without the rest of the version's partitions.
    public func partitions(
        from first: Int, count: Int, of name: String, version: Int64?, principal: Principal, owner: Principal? = nil
    ) async throws -> [PartitionRecord] {
        let wanted = try Self.requestedVersion(name, version)
        guard (1...Self.maxPartitionsPerRead).contains(count) else {
            throw StorageError.invalidArgument(
                "partition_count \(count) is out of range: a read covers 1 to \(Self.maxPartitionsPerRead) partitions")
        }
        let owner = owner ?? principal
        let firstProbe = PartitionLayout.queryIndex(first)
        let lastProbe = firstProbe < 0 ? -1 : min(firstProbe + Int64(count) - 1, Int64(Int32.max))
        let rows = try await database.withConnection { connection in
            try connection.execute("""
                SELECT v.version, v.partition_count, p.index, p."offset", p.size, p.sha256, p.blob_scope,
                    \(DamagedBlobs.recordedColumn(scope: "p.blob_scope", sha256: "p.sha256"))
                FROM objects o
                JOIN object_versions v ON v.object_id = o.id AND v.version = coalesce($3, o.current_version)
                LEFT JOIN version_partitions p
                    ON p.object_id = o.id AND p.version = v.version AND p.index BETWEEN $4 AND $6
                WHERE o.principal_id = $1 AND o.name = $2
                  AND \(AccessRule.level(owner: "$1", caller: "$5", name: "o.name")) IS NOT NULL
                ORDER BY p.index
                """, [
                    .int(owner.id), .text(name), wanted.map { .int($0) } ?? .null, .int(firstProbe), .int(principal.id),
                    .int(lastProbe),
                ]
            ).rows
        }
        guard let row = rows.first else { throw Self.missing(name, wanted) }
        guard try !row.isNull("index") else {
            let found = try row.int("version")
            let partitionCount = try row.int("partition_count")
            throw StorageError.invalidArgument(
                partitionCount == 0
                    ? "object '\(name)' version \(found) is empty: it has no partitions"
                    : "partition_index \(first) is out of range; version \(found) of '\(name)' has "
                        + "partitions 0 to \(partitionCount - 1)")
        }
        return try rows.map(Self.partition(from:))
    }

    /// The version a request names: nil for the current one. Validates the name as well.
    private static func requestedVersion(_ name: String, _ version: Int64?) throws(StorageError) -> Int64? {
        _ = try ObjectName.validate(name)
        let wanted = (version ?? 0) == 0 ? nil : version
        guard wanted.map({ $0 > 0 }) ?? true else {
            throw .invalidArgument("version must be positive, or 0 for the current version")
        }
        return wanted
    }

    static func missing(_ name: String, _ version: Int64?) -> StorageError {
        .notFound(version.map { "object '\(name)' has no version \($0)" } ?? "object '\(name)' does not exist")
    }

    static func record(from row: PostgresRow) throws -> ObjectVersionRecord {
        ObjectVersionRecord(
            name: try row.string("name"),
            version: try row.int("version"),
            size: try row.int("size"),
            sha256: try row.optionalBytes("sha256") ?? [],
            sha256State: WholeHashState(rawValue: try row.string("sha256_state")) ?? .pending,
            compositeSHA256: try row.bytes("composite_sha256"),
            contentType: try row.string("content_type"),
            userMetadata: UserMetadata.decode(try row.string("user_metadata")),
            createdAt: Date(timeIntervalSince1970: try row.double("created_at")),
            committedAt: Date(timeIntervalSince1970: try row.double("committed_at")),
            partitionSize: try row.int("partition_size"),
            partitionCount: Int(try row.int("partition_count")),
            isCurrent: try row.bool("is_current"),
            restoredFrom: try row.optionalInt("restored_from"),
            partitions: [],
            owner: try row.optionalString("owner_handle") ?? "",
            writtenBy: try row.optionalString("writer_handle") ?? "")
    }

    static func partition(from row: PostgresRow) throws -> PartitionRecord {
        PartitionRecord(
            index: Int(try row.int("index")), offset: try row.int("offset"), size: try row.int("size"),
            sha256: try row.bytes("sha256"), blobScope: try row.string("blob_scope"),
            damageRecorded: try row.bool("damage_recorded"))
    }
}
