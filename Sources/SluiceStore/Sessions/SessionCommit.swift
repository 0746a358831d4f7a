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
    public func commit(_ id: SessionID, by principal: Principal, objects: ObjectCatalog) async throws
        -> ObjectVersionRecord
    {
        let session = try await get(id, of: principal)
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
        let objectSHA256 = try await wholeObjectSHA256(session)
        if let declared = session.objectSHA256, declared != objectSHA256 {
            throw StorageError.dataLoss(
                "the partitions hash to \(Hex.encode(objectSHA256)) as a whole, but the session declared "
                    + "object_sha256 \(Hex.encode(declared)); abort this session and upload again")
        }
        let version = try await database.transaction { connection -> Int64 in
            guard let locked = try SessionQueries.load(id, of: principal, on: connection, lock: true) else {
                throw StorageError.notFound("upload session \(id) does not exist")
            }
            if locked.state == .committed, let version = locked.committedVersion { return version }
            try Self.requireOpen(locked)
            let owner = locked.owner(for: principal)
            if owner.id != principal.id {
                guard try AccessRule.lockedLevel(owner: owner, caller: principal, name: locked.objectName, on: connection)
                    == .write
                else {
                    throw StorageError.permissionDenied(
                        "upload session \(id) can no longer commit: '\(owner.handle)' no longer lets you write "
                            + "'\(locked.objectName)'; abort it")
                }
            }
            // One statement that creates the object or locks the existing row: a separate
            // INSERT … DO NOTHING and SELECT … FOR UPDATE would find nothing when a
            // DeleteObject commits in between. ON CONFLICT DO UPDATE inserts anew if the
            // conflicting row is deleted meanwhile, so exactly one row comes back.
            let upserted = try connection.execute("""
                INSERT INTO objects (principal_id, name, current_version, next_version) VALUES ($1, $2, 0, 1)
                ON CONFLICT (principal_id, name) DO UPDATE SET next_version = objects.next_version
                RETURNING id, next_version
                """, [.int(owner.id), .text(session.objectName)])
            guard let object = upserted.rows.first else {
                throw StorageError.aborted("object '\(session.objectName)' changed during the commit; commit again")
            }
            let objectID = try object.int("id")
            let version = try object.int("next_version")
            _ = try connection.execute("""
                INSERT INTO object_versions (object_id, version, size, sha256, content_type, user_metadata,
                    partition_size, partition_count, written_by)
                SELECT $1, $2, s.total_size, $3, s.content_type, s.user_metadata, s.partition_size,
                    cardinality(s.partition_sha256), s.principal_id
                FROM upload_sessions s WHERE s.id = $4
                """, [.int(objectID), .int(version), .bytes(objectSHA256), .bytes(id.bytes)])
            let copied = try connection.execute("""
                INSERT INTO version_partitions (object_id, version, index, "offset", size, sha256, blob_scope)
                SELECT $1, $2, sp.index, sp.index::bigint * $3, sp.size, sp.sha256, sp.blob_scope
                FROM session_partitions sp WHERE sp.session_id = $4
                """, [.int(objectID), .int(version), .int(session.partitionSize), .bytes(id.bytes)]).affectedRows
            guard copied == session.partitionCount else {
                // The session lost partitions while this commit waited (it expired and was
                // collected): never make a version without all of its bytes.
                throw StorageError.failedPrecondition(
                    "upload session \(id) expired and its partitions were reclaimed during the commit; "
                        + "start a new session")
            }
            _ = try connection.execute("""
                UPDATE objects SET current_version = $2, next_version = $2 + 1 WHERE id = $1
                """, [.int(objectID), .int(version)])
            _ = try connection.execute("""
                UPDATE upload_sessions
                SET state = 'committed', committed_object_id = $3, committed_version = $2, closed_at = now()
                WHERE id = $1
                """, [.bytes(id.bytes), .int(version), .int(objectID)])
            // The version's rows now hold the references; the session's would only keep
            // the bytes of a later-deleted object alive until the session is purged.
            _ = try connection.execute("DELETE FROM session_partitions WHERE session_id = $1", [.bytes(id.bytes)])
            try ChangeLog.record(
                .versionCreated(
                    ownerID: owner.id, name: session.objectName, version: version, size: session.totalSize,
                    sha256: objectSHA256, actorID: principal.id),
                on: connection)
            return version
        }
        return try await objects.version(session.objectName, version, of: principal, owner: session.owner(for: principal))
    }

    /// The SHA-256 of the object the session's partitions make, read back from the blob
    /// store in order (partition hashes do not compose into the whole-object hash). Every
    /// partition is re-hashed on the way, a single one included, so a blob damaged between
    /// its upload and the commit never becomes a version: the commit answers DATA_LOSS, the
    /// damaged partition is dropped from the session, and sending it again repairs it.
    private func wholeObjectSHA256(_ session: SessionRecord) async throws -> [UInt8] {
        if session.partitionCount == 0 { return SHA256.hash([]) }
        let scopes = try await database.withConnection { connection in
            try connection.execute(
                "SELECT index, blob_scope FROM session_partitions WHERE session_id = $1 ORDER BY index",
                [.bytes(session.id.bytes)]
            ).rows.map { try $0.string("blob_scope") }
        }
        guard scopes.count == session.partitionCount else {
            throw StorageError.aborted("the session's partitions changed during the commit; commit again")
        }
        var whole = SHA256()
        for (index, scope) in scopes.enumerated() {
            let key = try BlobKey(scope: scope, sha256: session.partitionSHA256[index])
            var partition = SHA256()
            do {
                for try await chunk in blobs.read(key, range: 0..<session.size(ofPartition: index), chunkSize: 1 << 20) {
                    partition.update(chunk)
                    whole.update(chunk)
                }
            } catch let error as BlobError where error.meansStoredBytesAreGone {
                try await dropDamaged(index, key: key, of: session, detail: "\(error)")
            }
            let actual = partition.finalize()
            if actual != key.sha256 {
                try await dropDamaged(index, key: key, of: session, detail: "hashes to \(Hex.encode(actual))")
            }
        }
        return whole.finalize()
    }

    /// Records a stored partition found damaged at commit, removes it from the session so
    /// that it counts as missing, and refuses the commit with DATA_LOSS.
    private func dropDamaged(_ index: Int, key: BlobKey, of session: SessionRecord, detail: String) async throws -> Never {
        try await database.transaction { connection in
            try DamagedBlobs.record(key, by: "commit", detail: detail, on: connection)
            _ = try connection.execute(
                "DELETE FROM session_partitions WHERE session_id = $1 AND index = $2",
                [.bytes(session.id.bytes), .int(Int64(index))])
        }
        throw StorageError.dataLoss(
            "partition \(index) of upload session \(session.id) is damaged in storage (its bytes no longer hash "
                + "to \(Hex.encode(key.sha256))); send partition \(index) again, then commit")
    }
}
