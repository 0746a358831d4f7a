import SluicePostgres

/// The quota checks, made inside the transaction that stores what they allow, so that no
/// two requests can both pass on the same headroom.
///
/// Usage is computed from the truth in one statement (versions and open sessions), never
/// kept in counters: there is nothing to drift after a crash and nothing to reconcile. A
/// session's declared size counts against the owner's byte quota while it is open (and a
/// minute past its expiry: ``expiryMargin``); its
/// commit turns the reservation into a version of the same size in one transaction, and an
/// abort or expiry ends it — settling needs no bookkeeping of its own.
public enum QuotaReservation {
    /// Refuses with ``StorageError/quotaExceeded(_:)`` when `bytes` more bytes, and one more
    /// object when `objectName` is not an object of the owner yet, would take the owner past its
    /// quotas. The refusal tells the owner's usage and limit only to the owner itself (see
    /// ``QuotaExceeded/callerIsOwner``).
    ///
    /// Call it inside the transaction that then stores the reservation (a session row) or the
    /// bytes themselves (a restored version), with the owner's principal row already locked
    /// (``RowLock/exclusive``, first of the transaction's locks): that lock serializes every
    /// reservation for the owner. `defaults` are the server's quotas; the owner's overrides
    /// replace them.
    static func reserve(
        bytes: Int64, objectName: String?, owner: Principal, caller: Principal, defaults: QuotaLimits,
        on connection: PostgresConnection
    ) throws {
        let quotas = try PrincipalSettingsStore.load(owner.id, on: connection).quotas(defaults: defaults)
        try reserve(bytes: bytes, objectName: objectName, owner: owner, caller: caller, quotas: quotas, on: connection)
    }

    /// ``reserve(bytes:objectName:owner:caller:defaults:on:)`` with the owner's quotas already
    /// read (in the transaction, after its principal row was locked).
    static func reserve(
        bytes: Int64, objectName: String?, owner: Principal, caller: Principal, quotas: QuotaLimits,
        on connection: PostgresConnection
    ) throws {
        guard quotas.bytes > 0 || quotas.objects > 0 else { return }
        let usage = try current(owner.id, newName: objectName, on: connection)
        if quotas.bytes > 0, bytes > 0, usage.storedBytes + usage.reservedBytes + bytes > quotas.bytes {
            throw StorageError.quotaExceeded(QuotaExceeded(
                quota: .bytes, limit: quotas.bytes, usage: usage.storedBytes + usage.reservedBytes, requested: bytes,
                owner: owner.handle, callerIsOwner: caller.id == owner.id))
        }
        if quotas.objects > 0, objectName != nil, !usage.nameExists,
           usage.objects + usage.pendingObjects + 1 > quotas.objects
        {
            throw StorageError.quotaExceeded(QuotaExceeded(
                quota: .objects, limit: quotas.objects, usage: usage.objects + usage.pendingObjects, requested: 1,
                owner: owner.handle, callerIsOwner: caller.id == owner.id))
        }
    }

    /// Counts the caller's open sessions, for ``requireSessionSlot(for:limit:counted:)``; run it
    /// in the transaction after the caller's principal row was locked.
    static func countingOpenSessions(of principal: Principal) -> PostgresStatement {
        PostgresStatement("""
            SELECT count(*)::bigint AS open FROM upload_sessions
            WHERE principal_id = $1 AND state = 'open' AND expires_at > now()
            """, [.int(principal.id)])
    }

    /// Refuses a new session when the caller has as many open as its session `limit` allows
    /// (0: unlimited); `counted` is the answer of ``countingOpenSessions(of:)``.
    static func requireSessionSlot(for principal: Principal, limit: Int64, counted: PostgresResult) throws {
        guard limit > 0 else { return }
        guard let open = try counted.rows.first?.int("open") else {
            throw StorageError.aborted("the open sessions could not be counted; create the session again")
        }
        guard open < limit else {
            throw StorageError.quotaExceeded(
                QuotaExceeded(quota: .sessions, limit: limit, usage: open, requested: 1, owner: principal.handle))
        }
    }

    /// How long after its expiry an open session's reservation still counts. A commit finds
    /// its session unexpired when it loads it and may land a moment after the expiry, and a
    /// create cannot see a version before its commit lands: without the margin a create in
    /// between counted neither the reservation nor the version, and the owner ended past its
    /// quotas. No commit transaction lasts anywhere near this long (each lock wait ends at
    /// 10 s); the reservation of a session that simply expired is free a minute later.
    static let expiryMargin = "interval '60 seconds'"

    /// The bytes reserved against owner `owner` (an SQL expression of its id), in SQL: what the
    /// open sessions into its objects declared (``expiryMargin``). For the quota checks and
    /// for usage alike, so that usage explains every refusal.
    static func reservedBytesSQL(owner: String) -> String {
        """
        (SELECT coalesce(sum(s.total_size), 0) FROM upload_sessions s
         WHERE coalesce(s.owner_id, s.principal_id) = \(owner) AND s.state = 'open'
           AND s.expires_at > now() - \(expiryMargin))::bigint
        """
    }

    /// What counts against an owner's quotas now, read in one snapshot.
    struct Current {
        var storedBytes: Int64
        var reservedBytes: Int64
        var objects: Int64
        /// Names open sessions would create (not objects yet), `newName` excluded.
        var pendingObjects: Int64
        var nameExists: Bool
    }

    /// One statement, so a commit that turns a reservation into a version is seen either
    /// wholly before or wholly after.
    static func current(_ ownerID: Int64, newName: String?, on connection: PostgresConnection) throws -> Current {
        let row = try connection.execute("""
            SELECT
                (SELECT coalesce(sum(v.size), 0) FROM objects o JOIN object_versions v ON v.object_id = o.id
                 WHERE o.principal_id = $1)::bigint AS stored_bytes,
                \(reservedBytesSQL(owner: "$1")) AS reserved_bytes,
                (SELECT count(*) FROM objects o WHERE o.principal_id = $1)::bigint AS objects,
                (SELECT count(DISTINCT s.object_name) FROM upload_sessions s
                 WHERE coalesce(s.owner_id, s.principal_id) = $1 AND s.state = 'open'
                   AND s.expires_at > now() - \(expiryMargin)
                   AND s.object_name IS DISTINCT FROM $2
                   AND NOT EXISTS (SELECT 1 FROM objects o WHERE o.principal_id = $1 AND o.name = s.object_name))::bigint
                    AS pending_objects,
                EXISTS (SELECT 1 FROM objects o WHERE o.principal_id = $1 AND o.name = $2) AS name_exists
            """, [.int(ownerID), newName.map { .text($0) } ?? .null]).rows.first
        guard let row else { throw StorageError.aborted("usage could not be read; send the request again") }
        return Current(
            storedBytes: try row.int("stored_bytes"), reservedBytes: try row.int("reserved_bytes"),
            objects: try row.int("objects"), pendingObjects: try row.int("pending_objects"),
            nameExists: try row.bool("name_exists"))
    }
}
