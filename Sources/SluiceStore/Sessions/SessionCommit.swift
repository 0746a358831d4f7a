import SluiceOpenSSL
import SluicePostgres

extension UploadSessions {
    /// Turns a complete session into a new version of its object, in one transaction: a
    /// crash leaves either the previous version current or the new one, never half of it.
    /// Committing a committed session answers the version it made.
    ///
    /// A grantee's session into an owner's folder commits only while a WRITE grant still
    /// covers the name, checked inside the commit transaction with the grant locked: once
    /// revoked (or lowered to READ) the commit is PERMISSION_DENIED, for good.
    ///
    /// The owner of the folder such a session uploads into may read and abort it but never
    /// commit it: that is PERMISSION_DENIED too, decided before the session's state is looked
    /// at, so the answer is the same whether the session is missing partitions, complete or
    /// closed (what stops the owner is who it is, not how far the grantee has got).
    public func commit(_ id: SessionID, by principal: Principal, objects: ObjectCatalog) async throws
        -> ObjectVersionRecord
    {
        let session = try await get(id, of: principal)
        if session.ownerID == principal.id { throw Self.onlyTheCreator(of: id, can: "commit it") }
        if session.state == .committed, let version = session.committedVersion {
            return try await objects.version(madeBy: session, version, of: principal)
        }
        try Self.requireOpen(session)
        let stored = Set(session.storedPartitions)
        let missing = (0..<session.partitionCount).filter { !stored.contains($0) }
        guard missing.isEmpty else {
            let shown = missing.prefix(20).map(String.init).joined(separator: ", ")
            let more = missing.count > 20 ? " and \(missing.count - 20) more" : ""
            throw StorageError.failedPrecondition(
                "upload session \(id) is missing \(missing.count) of \(session.partitionCount) partitions "
                    + "(\(shown)\(more)); upload them, then commit again")
        }
        let owner = session.owner(for: principal)
        let name = session.objectName
        let made = try await grouped.run(order: GroupOrder.object(owner, name)) { connection in
            try Self.commitLocked(id, by: principal, into: owner, name, on: connection).recordingItsChange()
        }
        if made.whole == nil, !session.skipsWholeSHA256 { wholeHashes.wake() }
        guard let record = made.record else { throw ObjectCatalog.missing(name, made.version) }
        return record
    }

    /// The commit's statements inside the caller's transaction: locks the session, re-checks
    /// it, makes the version and reads it back as the caller sees it (in the same round trip),
    /// leaving its change-log record to the caller (to run last).
    ///
    /// `owner` and `name` are the session's (they never change, so the caller knows them from
    /// reading it before): the session, the grants of a grantee's session and the object row
    /// are then locked in one round trip, in ``RowLock``'s order. The object row is created or
    /// locked only while the session is open; whatever a refusal found after it did is rolled
    /// back with it.
    ///
    /// With `arriving`, the commit also records that partition, whose bytes are durable and
    /// whose blob is leased, straight into the version (PutObject's only partition): the same
    /// checks as recording it in the session first, under the commit's stronger session lock,
    /// without a session row that the commit would delete again.
    static func commitLocked(
        _ id: SessionID, by principal: Principal, into owner: Principal, _ name: String,
        recording arriving: ArrivingPartition? = nil, on connection: PostgresConnection
    ) throws -> CommittedVersion {
        let grantee = owner.id != principal.id
        // One statement that creates the object or locks the existing row: a separate
        // INSERT … DO NOTHING and SELECT … FOR UPDATE would find nothing when a
        // DeleteObject commits in between. ON CONFLICT DO UPDATE inserts anew if the
        // conflicting row is deleted meanwhile, so exactly one row comes back.
        //
        // A row inserted anew after waiting for such a delete took its first number from
        // retired_names as the statement's snapshot saw it, from before the delete retired
        // the name's numbers: the statement after it, with a snapshot of its own, carries the
        // number on from what the delete retired, so no number is used twice.
        let opening = [SessionQueries.loading(id, of: principal, lock: true)]
            + (grantee ? [AccessRule.lockingGrants(owner: owner, caller: principal, name: name)] : [])
            + [
                PostgresStatement("""
                    INSERT INTO objects (principal_id, name, current_version, next_version)
                    SELECT $1, $2, 0, coalesce(
                        (SELECT r.next_version FROM retired_names r WHERE r.principal_id = $1 AND r.name = $2), 1)
                    WHERE EXISTS (SELECT 1 FROM upload_sessions WHERE id = $3 AND state = 'open')
                    ON CONFLICT (principal_id, name) DO UPDATE SET next_version = objects.next_version
                    RETURNING id, next_version
                    """, [.int(owner.id), .text(name), .bytes(id.bytes)]),
                PostgresStatement("""
                    UPDATE objects o SET next_version = r.next_version
                    FROM retired_names r
                    WHERE o.principal_id = $1 AND o.name = $2 AND r.principal_id = $1 AND r.name = $2
                      AND r.next_version > o.next_version
                      AND EXISTS (SELECT 1 FROM upload_sessions WHERE id = $3 AND state = 'open')
                    RETURNING o.id, o.next_version
                    """, [.int(owner.id), .text(name), .bytes(id.bytes)]),
            ]
        let opened = try connection.execute(pipeline: opening)
        guard let locked = try opened[0].rows.first.map(SessionQueries.record(from:)) else {
            throw StorageError.notFound("upload session \(id) does not exist")
        }
        guard locked.objectName == name, locked.owner(for: principal).id == owner.id else {
            throw StorageError.aborted("upload session \(id) is not the one being committed; commit again")
        }
        if locked.state == .committed, let version = locked.committedVersion {
            return CommittedVersion(
                version: version, whole: [],
                record: try ObjectCatalog.version(locked.objectName, version, of: principal, owner: owner, on: connection),
                change: nil)
        }
        try Self.requireOpen(locked)
        let composite = CompositeHash.of(locked.partitionSHA256)
        let whole = try Self.knownWholeSHA256(of: locked, on: connection)
        if let whole, let declared = locked.objectSHA256, declared != whole {
            throw StorageError.dataLoss(
                "the partitions hash to \(Hex.encode(whole)) as a whole, but the session declared "
                    + "object_sha256 \(Hex.encode(declared)); abort this session and upload again")
        }
        let wholeState: WholeHashState =
            if whole != nil { locked.objectSHA256 == nil ? .undeclared : .verified }
            else { locked.skipsWholeSHA256 ? .notComputed : .pending }
        if grantee, try AccessRule.level(lockedBy: opened[1]) != .write {
            throw StorageError.permissionDenied(
                "upload session \(id) can no longer commit: '\(owner.handle)' no longer lets you write "
                    + "'\(locked.objectName)'; abort it")
        }
        guard let object = opened[opened.count - 1].rows.first ?? opened[opened.count - 2].rows.first else {
            throw StorageError.aborted("object '\(locked.objectName)' changed during the commit; commit again")
        }
        let objectID = try object.int("id")
        let version = try object.int("next_version")
        // One round trip for the rest: a refusal found in the answers throws, which rolls back
        // what the statements did.
        var statements = [
            PostgresStatement("""
                INSERT INTO object_versions (object_id, version, size, sha256, sha256_state, declared_sha256,
                    composite_sha256, content_type, user_metadata, partition_size, partition_count, written_by)
                SELECT $1, $2, s.total_size, $3, $5, s.object_sha256, $6, s.content_type, s.user_metadata,
                    s.partition_size, $7, s.principal_id
                FROM upload_sessions s WHERE s.id = $4
                """, [
                    .int(objectID), .int(version), whole.map { .bytes($0) } ?? .null, .bytes(id.bytes),
                    .text(wholeState.rawValue), .bytes(composite), .int(Int64(locked.partitionCount)),
                ]),
            PostgresStatement("""
                INSERT INTO version_partitions (object_id, version, index, "offset", size, sha256, blob_scope)
                SELECT $1, $2, sp.index, sp.index::bigint * $3, sp.size, sp.sha256, sp.blob_scope
                FROM session_partitions sp WHERE sp.session_id = $4
                """, [.int(objectID), .int(version), .int(locked.partitionSize), .bytes(id.bytes)]),
        ]
        let arrivingAt = statements.count
        if let arriving {
            // After the object's row, as ``RowLock`` orders blobs. A session partition with
            // the same index (an UploadPartition into this session meanwhile) holds the same
            // bytes by their declared hash: the row already made stands.
            statements += Self.confirmingLease(arriving.key, size: arriving.size, hold: arriving.hold) + [
                PostgresStatement("""
                    INSERT INTO version_partitions (object_id, version, index, "offset", size, sha256, blob_scope)
                    SELECT $1, $2, $3, $3::bigint * $4, $5, $6, $7
                    WHERE EXISTS (SELECT 1 FROM blobs WHERE scope = $7 AND sha256 = $6 AND NOT deleting)
                    ON CONFLICT (object_id, version, index) DO NOTHING
                    """, [
                        .int(objectID), .int(version), .int(Int64(arriving.index)), .int(locked.partitionSize),
                        .int(arriving.size), .bytes(arriving.key.sha256), .text(arriving.key.scope),
                    ]),
            ]
        }
        statements += [
            PostgresStatement("""
                UPDATE objects SET current_version = $2, next_version = $2 + 1 WHERE id = $1
                """, [.int(objectID), .int(version)]),
            PostgresStatement("""
                UPDATE upload_sessions
                SET state = 'committed', committed_object_id = $3, committed_version = $2, closed_at = now()
                WHERE id = $1
                """, [.bytes(id.bytes), .int(version), .int(objectID)]),
            // The version's rows now hold the references; the session's would only keep
            // the bytes of a later-deleted object alive until the session is purged.
            PostgresStatement("DELETE FROM session_partitions WHERE session_id = $1", [.bytes(id.bytes)]),
        ]
        let describing = ObjectCatalog.describing(locked.objectName, version, of: principal, owner: owner)
        let done = try connection.execute(pipeline: statements + describing)
        var placed = done[1].affectedRows
        if let arriving {
            try Self.requireLease(confirmedBy: done[arrivingAt], partition: arriving.index)
            placed += done[arrivingAt + 3].affectedRows
        }
        guard placed == locked.partitionCount else {
            // The session lost partitions while this commit waited (it expired and was
            // collected): never make a version without all of its bytes.
            throw StorageError.failedPrecondition(
                "upload session \(id) expired and its partitions were reclaimed during the commit; "
                    + "start a new session")
        }
        return CommittedVersion(
            version: version, whole: whole,
            record: try ObjectCatalog.version(answeredBy: Array(done.suffix(describing.count)), on: connection),
            change: .versionCreated(
                ownerID: owner.id, name: locked.objectName, version: version, size: locked.totalSize,
                sha256: whole ?? [], actorID: principal.id))
    }

    /// The whole-object SHA-256 when it is known without reading a byte: the hash of no
    /// bytes, the one partition's hash, or the state advanced while every partition arrived
    /// in order (``storePartition``). Nil otherwise: the version is committed pending, and
    /// the ``WholeHashVerifier`` settles it.
    static func knownWholeSHA256(of session: SessionRecord, on connection: PostgresConnection) throws -> [UInt8]? {
        switch session.partitionCount {
        case 0: return SHA256.hash([])
        case 1: return session.partitionSHA256[0]
        default:
            let row = try connection.execute(
                "SELECT whole_hash_state, whole_hashed_through FROM upload_sessions WHERE id = $1",
                [.bytes(session.id.bytes)]
            ).rows.first
            guard let row, try row.int("whole_hashed_through") == Int64(session.partitionCount),
                  let exported = try row.optionalBytes("whole_hash_state"),
                  let state = ResumableSHA256(exported: exported)
            else { return nil }
            return state.finalize()
        }
    }
}

/// A partition a commit records itself (see ``UploadSessions/commitLocked(_:by:recording:on:)``).
struct ArrivingPartition: Sendable {
    var index: Int
    var size: Int64
    var key: BlobKey
    /// The hold the put took on the blob, which the commit's record replaces.
    var hold: BlobHold
}

/// What a commit made.
struct CommittedVersion: Sendable {
    var version: Int64
    /// The whole-object SHA-256 when known (nil: the version is pending for the
    /// ``WholeHashVerifier``); empty for a session committed before.
    var whole: [UInt8]?
    /// The version as the committing caller sees it, read in the commit's transaction; nil when
    /// the caller may not read it.
    var record: ObjectVersionRecord?
    /// The change-log record to write last in the transaction; nil when nothing changed.
    var change: ChangeRecord?

    /// As a ``GroupCommit`` item whose change is recorded after every item of the batch.
    func recordingItsChange() -> GroupedWork<CommittedVersion> {
        guard let change else { return GroupedWork(self) }
        return GroupedWork(self) { connection in ChangeLog.record(change, on: connection) }
    }
}

/// The order of a ``GroupCommit`` batch's items: by owner, then name, so that two batches lock
/// objects in one order.
enum GroupOrder {
    static func object(_ owner: Principal, _ name: String) -> String { "\(owner.id)/\(name)" }
}

/// The composite hash of an object: SHA-256 of its partitions' SHA-256s, concatenated in
/// order (as Dropbox's content hash). It names the bytes only together with the partition
/// size; every byte is verified against its partition's hash on arrival and on every whole
/// partition read, so the composite vouches for the object without a pass over its bytes.
public enum CompositeHash {
    public static func of(_ partitionSHA256: [[UInt8]]) -> [UInt8] {
        var hasher = SHA256()
        for digest in partitionSHA256 { hasher.update(digest) }
        return hasher.finalize()
    }
}
