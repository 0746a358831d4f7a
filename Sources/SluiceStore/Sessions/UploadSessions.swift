import Foundation
import SluiceDuration
import SluiceMetrics
import SluiceOpenSSL
import SluicePostgres

/// Upload sessions: open, inspect, list and abandon them. Storing partitions and
/// committing live beside this type (PartitionUpload, SessionCommit).
///
/// Sessions are rows in PostgreSQL, so any sluiced instance can serve any session and a
/// session survives restarts.
public final class UploadSessions: Sendable {
    let database: PostgresPool
    let blobs: any BlobStore
    let limits: StorageLimits
    let pageTokens: PageTokens
    /// Settles the whole-object SHA-256 of versions committed before it was known.
    public let wholeHashes: WholeHashVerifier
    /// Where partition records and commits that finish together share one transaction.
    let grouped: GroupCommit
    /// Reclaims the bytes an aborted session let go.
    let reclaimer: BlobReclaimer

    public init(database: PostgresPool, blobs: any BlobStore, limits: StorageLimits, pageTokens: PageTokens = .random()) {
        self.wholeHashes = WholeHashVerifier(database: database, blobs: blobs)
        self.grouped = GroupCommit(pool: database)
        self.reclaimer = BlobReclaimer(database: database, blobs: blobs, limits: limits)
        self.database = database
        self.blobs = blobs
        self.limits = limits
        self.pageTokens = pageTokens
    }

    /// Opens a session. ``StorageError/quotaExceeded(_:)`` when the caller already has as many sessions open as
    /// its session quota allows, or when the declared size (or a new object name) does not fit
    /// in the owner's byte (or object) quota: the size is reserved here, in the transaction
    /// that makes the session, and settled by its commit, abort or expiry (``QuotaReservation``).
    ///
    /// With a request id the call is idempotent: when the principal has a session made
    /// with that id (still retained: open, or closed less than the retention ago), that
    /// session is the answer, in whatever state it is now — a client that died before it
    /// recorded the session, or a retry after a lost reply, gets the same session rather
    /// than leaking a second. The same id with a different declaration is INVALID_ARGUMENT.
    ///
    /// With `owner`, the session uploads into that principal's object, which needs a WRITE
    /// grant covering the name: none is NOT_FOUND (nothing about the owner leaks), READ is
    /// PERMISSION_DENIED. The session stays the caller's; the bytes go into the owner's scope.
    ///
    /// A new session starts with every declared partition the owner's scope already holds
    /// (and the caller may know of) marked stored: see `markHeldPartitions`.
    public func create(_ declaration: SessionDeclaration, by principal: Principal, owner: Principal? = nil)
        async throws -> SessionRecord
    {
        try declaration.validate(limits)
        let owner = owner ?? principal
        let id = SessionID.random()
        let limits = self.limits
        let record = try await database.transaction { connection in
            try Self.open(id, declaration, by: principal, owner: owner, limits: limits, on: connection).record
        }
        // A request id's replay answers the earlier session: only a new one counts.
        if record.id == id { SluiceMetrics.sessionCreated() }
        return record.expiringEmpty(after: limits.emptySessionLifetime)
    }

    /// The statements of ``create(_:by:owner:)`` inside the caller's transaction: returns the new
    /// session `id`, or the earlier session its request id made.
    ///
    /// `alongside` is sent in the round trip that inserts a new session, after its statements
    /// (a PutObject's lease), and its answers come back in `alongside`; nothing of it runs for
    /// a request id's earlier session or a refused one.
    static func open(
        _ id: SessionID, _ declaration: SessionDeclaration, by principal: Principal, owner: Principal,
        limits: StorageLimits, on connection: PostgresConnection, alongside: [PostgresStatement] = []
    ) throws -> (record: SessionRecord, alongside: [PostgresResult]) {
        // One round trip: lock the principal rows (caller and owner) and read their settings,
        // count the caller's open sessions, probe for blobs the owner may already hold, look up
        // the request id. The locks serialize the creates of both, so neither a quota nor a
        // request id can be passed by a race.
        let scope = BlobScope.of(owner: owner.id, limits: limits)
        var reads = [
            PrincipalSettingsStore.locking(principal, owner),
            QuotaReservation.countingOpenSessions(of: principal),
        ]
        let probeAnswer = reads.count
        let probe = Self.probingHeldBlobs(declaration, scope: scope, owner: owner, caller: principal)
        if let probe { reads.append(probe) }
        let requestAnswer = reads.count
        if let requestID = declaration.requestID {
            reads.append(SessionQueries.loading(requestID: requestID, of: principal))
        }
        let read = try connection.execute(pipeline: reads)
        let heldBlobs = probe == nil ? 0 : try read[probeAnswer].rows.first?.int("held") ?? 0
        let settings = try PrincipalSettingsStore.settings(in: read[0])
        try Self.requireWrite(declaration.objectName, of: owner, by: principal, on: connection)
        if let requestID = declaration.requestID,
           let earlier = try read[requestAnswer].rows.first.map(SessionQueries.record(from:))
        {
            guard declaration.declares(earlier), (earlier.ownerID ?? principal.id) == owner.id else {
                throw StorageError.invalidArgument(
                    "request_id '\(requestID)' already made upload session \(earlier.id) with a different "
                        + "declaration; use a new request_id for a new session")
            }
            return (earlier, [])
        }
        let quotas = { (who: Principal) in (settings[who.id] ?? PrincipalSettings()).quotas(defaults: limits.defaultQuotas) }
        try QuotaReservation.requireSessionSlot(for: principal, limit: quotas(principal).sessions, counted: read[1])
        try QuotaReservation.reserve(
            bytes: declaration.totalSize, objectName: declaration.objectName, owner: owner, caller: principal,
            quotas: quotas(owner), on: connection)
        // One round trip: the session (answering its record) and the partitions the owner
        // already holds.
        var writes = [
            PostgresStatement("""
                INSERT INTO upload_sessions AS s (id, principal_id, object_name, total_size, partition_size,
                    partition_sha256, object_sha256, content_type, user_metadata, state, expires_at, request_id,
                    owner_id, whole_hash_skipped)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, 'open', now() + make_interval(secs => $10), $11,
                    $12, $13)
                RETURNING \(SessionQueries.selectColumns)
                """, [
                    .bytes(id.bytes), .int(principal.id), .text(declaration.objectName), .int(declaration.totalSize),
                    .int(declaration.partitionSize), .bytesArray(declaration.partitionSHA256),
                    declaration.objectSHA256.map { .bytes($0) } ?? .null, .text(declaration.contentType),
                    .text(UserMetadata.encode(declaration.userMetadata)), .double(limits.sessionLifetime.inSeconds),
                    declaration.requestID.map { .text($0) } ?? .null,
                    owner.id == principal.id ? .null : .int(owner.id), .bool(declaration.skipsWholeSHA256),
                ]),
        ]
        let marking = heldBlobs > 0
            ? Self.markingHeldPartitions(of: id, declaration: declaration, owner: owner, caller: principal, scope: scope)
            : nil
        if let marking { writes.append(marking) }
        let written = try connection.execute(pipeline: writes + alongside)
        guard var record = try written[0].rows.first.map(SessionQueries.record(from:)) else {
            throw StorageError.aborted("the new session vanished; create it again")
        }
        // The record was read as the session was inserted, before any partition was marked.
        if marking != nil {
            let held = try written[1].rows.map { (index: Int(try $0.int("index")), size: try $0.int("size")) }
            record.storedPartitions = held.map(\.index).sorted()
            record.storedBytes = held.reduce(0) { $0 + $1.size }
        }
        return (record, Array(written.suffix(alongside.count)))
    }

    /// Refuses an upload into `owner`'s `name` unless the caller may write it (see `create`).
    /// Inside a transaction, the covering grants stay locked until it ends.
    static func requireWrite(_ name: String, of owner: Principal, by caller: Principal, on connection: PostgresConnection)
        throws
    {
        switch try AccessRule.lockedLevel(owner: owner, caller: caller, name: name, on: connection) {
        case .write:
            return
        case .read:
            throw StorageError.permissionDenied(
                "'\(owner.handle)' shares '\(name)' with you for reading only; ask them for write access")
        case nil:
            throw StorageError.notFound("\(PrincipalHandle.quoted(owner.handle)) shares nothing named '\(name)' with you")
        }
    }

    /// The session, for resuming: state, expiry and which partitions are stored. The owner of
    /// the folder a grantee's session uploads into may read it too.
    public func get(_ id: SessionID, of principal: Principal) async throws -> SessionRecord {
        let record = try await database.withConnection { connection in
            try SessionQueries.load(id, of: principal, reach: .creatorOrOwner, on: connection)
        }
        guard let record else { throw StorageError.notFound("upload session \(id) does not exist") }
        return record.expiringEmpty(after: limits.emptySessionLifetime)
    }

    /// A page of the principal's sessions, newest first: those it opened and those its
    /// grantees opened into its folder (they reserve its quotas). The token is opaque to clients.
    ///
    /// The sessions come without their declared partition hashes (``SessionRecord/partitionSHA256``
    /// is empty; ``get(_:of:)`` has them): at 34 bytes each, up to 10,000 per session, they
    /// would make a page of 100 sessions 34 MB. What is left, the stored partitions' indexes
    /// and the user metadata, still varies, so a page also ends at ``PageBudget/maxBytes``.
    public func list(
        of principal: Principal, pageSize: Int, pageToken: String, openOnly: Bool
    ) async throws -> (sessions: [SessionRecord], nextPageToken: String) {
        let size = try Paging.size(pageSize, limit: limits.maxPageSize)
        let parameters = [openOnly ? "open" : "all"]
        let resume = try Self.sessionCursor(
            pageTokens.redeem(pageToken, for: .sessions, principal: principal, parameters: parameters))
        let emptyLifetime = limits.emptySessionLifetime
        let (page, hasMore) = try await database.withConnection { connection in
            var after = resume
            let page = try ListingPage<(record: SessionRecord, cursor: String)>.read(size: size) {
                // The cost: the strings, the metadata as JSON, and up to 5 bytes per stored partition.
                try connection.execute(PageBudget.bounded("""
                    SELECT \(SessionQueries.selectColumns(partitionHashes: false)),
                        (extract(epoch FROM s.created_at) * 1000000)::bigint AS created_us,
                        (\(PageBudget.fixedBytes) + octet_length(s.object_name) + octet_length(s.content_type)
                         + octet_length(s.user_metadata::text)
                         + 5 * (SELECT count(*) FROM session_partitions sp WHERE sp.session_id = s.id))::bigint
                            AS page_cost
                    FROM (
                        (\(Self.listingBranch("s.principal_id = $1")))
                        UNION ALL
                        (\(Self.listingBranch("s.owner_id = $1 AND s.principal_id <> $1")))
                    ) s
                    ORDER BY s.created_at DESC, s.id
                    LIMIT $5
                    """, order: "created_us DESC, id"), [
                        .int(principal.id), after.map { .int($0.createdMicros) } ?? .null,
                        .bytes(after?.id ?? []), .bool(openOnly), .int(Int64(size + 1)),
                    ]).rows
            } item: { row in
                let record = try SessionQueries.record(from: row).expiringEmpty(after: emptyLifetime)
                let micros = try row.int("created_us")
                after = (micros, record.id.bytes)
                return ((record, "\(micros):\(record.id)"), PageBudget.encodedSize(of: record))
            }
            return (page.items, page.hasMore)
        }
        var next = ""
        if hasMore, let last = page.last {
            next = pageTokens.issue(last.cursor, for: .sessions, principal: principal, parameters: parameters)
        }
        return (page.map { $0.record }, next)
    }

    /// One half of a session listing's batch: the sessions `whose` selects (the principal's
    /// own, or those its grantees opened into its folder; apart, so that no row is in both),
    /// newest first, after the cursor ($2 microseconds, $3 id; none when $2 is NULL), open ones
    /// only if $4, at most $5. Each half walks its own index (`upload_sessions_by_principal`,
    /// `upload_sessions_by_owner`) from the cursor on, with the bound on `created_at` as an
    /// index condition: a page costs its own rows, not every retained session before it (one
    /// `principal_id = $1 OR owner_id = $1`, or a cursor on an expression of `created_at`, can
    /// use neither index, and each page would read and sort all of them). Rows of the cursor's
    /// very microsecond are told apart by id, among the few the index gives for it.
    private static func listingBranch(_ whose: String) -> String {
        let cursorTime = "(timestamptz 'epoch' + $2 * interval '1 microsecond')"
        return """
            SELECT * FROM upload_sessions s
            WHERE \(whose)
              AND s.created_at <= coalesce(\(cursorTime), 'infinity')
              AND ($2::bigint IS NULL OR s.created_at < \(cursorTime) OR s.id > $3)
              AND (NOT $4 OR (s.state = 'open' AND s.expires_at > now()))
            ORDER BY s.created_at DESC, s.id
            LIMIT $5
            """
    }

    /// The (creation time in microseconds, id) a session listing resumes after.
    private static func sessionCursor(_ cursor: String?) throws(StorageError) -> (createdMicros: Int64, id: [UInt8])? {
        guard let cursor else { return nil }
        let parts = cursor.split(separator: ":")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = Hex.decode(String(parts[1])) else {
            throw .invalidArgument("page_token is not one this server issued; pass the next_page_token you received")
        }
        return (micros, id)
    }

    /// Abandons an open or expired session. Its partitions go with it, and their bytes too
    /// before this returns, unless something else keeps them (a version, another session, an
    /// upload of the same bytes in flight): the abort frees its reservation at once, so bytes
    /// left for a later pass would be counted nowhere meanwhile. Aborting an aborted session is
    /// a no-op; a committed one cannot be aborted. The owner of the folder a grantee's session
    /// uploads into may abort it too: the session holds the owner's quotas.
    public func abort(_ id: SessionID, of principal: Principal) async throws -> SessionRecord {
        let (record, released) = try await database.transaction { connection -> (SessionRecord, [BlobKey]) in
            guard let record = try SessionQueries.load(id, of: principal, reach: .creatorOrOwner, on: connection, lock: true)
            else {
                throw StorageError.notFound("upload session \(id) does not exist")
            }
            switch record.state {
            case .committed:
                throw StorageError.failedPrecondition(
                    "upload session \(id) is committed (version \(record.committedVersion ?? 0)); delete the object instead")
            case .aborted:
                return (record, [])
            case .open, .expired:
                let released = try SessionRelease.outcome(of: connection.execute(SessionRelease.statement("""
                    aborted AS (
                        UPDATE upload_sessions s SET state = 'aborted', closed_at = now() WHERE s.id = $1
                        RETURNING s.id)
                    """, [.bytes(id.bytes)]))).released
                var aborted = record
                aborted.state = .aborted
                aborted.storedPartitions = []
                aborted.storedBytes = 0
                return (aborted, released)
            }
        }
        await reclaimer.reclaimRegardless(among: released)
        return record
    }
}
