import Foundation
import SluiceOpenSSL
import SluiceMetrics
import SluicePostgres

/// The outcome of storing one partition.
public struct PartitionUploadResult: Sendable, Equatable {
    public var index: Int
    public var size: Int64
    public var sha256: [UInt8]
    /// The partition was stored before; the bytes of this call were not needed.
    public var alreadyStored: Bool

    public init(index: Int, size: Int64, sha256: [UInt8], alreadyStored: Bool) {
        self.index = index
        self.size = size
        self.sha256 = sha256
        self.alreadyStored = alreadyStored
    }
}

extension UploadSessions {
    /// Stores partition `index` of a session from `chunks`, verifying its size and SHA-256
    /// against the declaration as the bytes stream through. The partition is acknowledged
    /// (this returns) only once the bytes are durable and recorded.
    ///
    /// The blob row is leased before any byte is written (the upload holds it: ``BlobHold``),
    /// and the final registration re-checks the lease under a row lock, so the collector can
    /// never delete bytes that this upload is about to reference.
    ///
    /// Only the session's creator stores its partitions. The owner of the folder a grantee's
    /// session uploads into sees that session (and may abort it), so it is told so
    /// (PERMISSION_DENIED, as for a commit) rather than that the session does not exist; to
    /// anyone else the session stays NOT_FOUND.
    public func storePartition<Chunks: AsyncSequence>(
        _ index: Int, of id: SessionID, by principal: Principal, chunks: Chunks
    ) async throws -> PartitionUploadResult where Chunks.Element: ContiguousBytes & Sendable {
        let target = try await partitionTarget(index, of: id, by: principal)
        guard target.isCreator else { throw Self.onlyTheCreator(of: id, can: "store its partitions") }
        try Self.requireOpen(id, state: target.state, committedVersion: target.committedVersion)
        guard target.mayWrite else {
            // A grantee's session whose grant was revoked: its bytes would land in the owner's
            // scope for a commit that can no longer happen.
            throw StorageError.permissionDenied(
                "upload session \(id) can no longer store partitions: the owner no longer lets you write "
                    + "its object; abort it")
        }
        guard let sha256 = target.sha256, index >= 0 else {
            throw StorageError.invalidArgument(
                "partition_index \(index) is out of range; session \(id) has partitions 0 to \(target.partitionCount - 1)")
        }
        let size = PartitionLayout.size(
            ofPartition: index, totalSize: target.totalSize, partitionSize: target.partitionSize)
        // A stored partition keeps the blob it was stored as (the scope may differ if
        // --deduplicate-across-principals changed since): that is the blob to check and repair.
        let key = try BlobKey(scope: target.storedScope ?? BlobScope.of(owner: target.ownerID, limits: limits), sha256: sha256)
        // A partition sent again is a no-op only while its stored bytes are intact; a blob
        // that rotted (or vanished) since is rewritten from these bytes instead. Either way the
        // bytes sent are checked: already_stored vouches for them too.
        if target.storedScope != nil, try await isIntact(key, size: size) {
            try await verify(chunks, against: key, size: size, partition: index)
            SluiceMetrics.partitionStored(bytes: size, deduplicated: true)
            return PartitionUploadResult(index: index, size: size, sha256: sha256, alreadyStored: true)
        }
        let lease: BlobLease
        switch target.lease {
        case .taken(let taken): lease = taken
        case .refused: lease = try await waitingOutReclaim { try await self.lease(key, size: size) }
        case .notTaken: lease = try await self.lease(key, size: size)  // a stored blob found damaged
        }

        // The partition that continues the session's in-order whole-object hash extends it as
        // its bytes stream through; any other leaves it for the verifier after commit.
        var whole: ResumableSHA256? = nil
        if target.hashesWhole, target.wholeHashedThrough == index {
            whole = index == 0 ? ResumableSHA256() : target.wholeHashState.flatMap(ResumableSHA256.init(exported:))
        }
        let frontierStored: Bool
        var stored = false
        do {
            whole = try await write(
                chunks, as: key, size: size, partition: index, holding: lease.hold, extending: whole)
            stored = true
            // The writer verified the bytes against the partition hash: the extended state is sound.
            frontierStored = try await register(
                index, size: size, key: key, hold: lease.hold, in: id, wholeHash: whole?.exported(),
                askingFrontier: target.hashesWhole)
        } catch {
            // Bytes that failed, or arrived for a session closed meanwhile, keep nothing.
            await giveBack(lease.hold, of: key, stored: stored)
            throw error
        }
        if frontierStored { wholeHashes.frontier.wake(id) }
        SluiceMetrics.partitionStored(bytes: size, deduplicated: !lease.newBlob)
        return PartitionUploadResult(index: index, size: size, sha256: sha256, alreadyStored: false)
    }

    /// Writes partition `index`'s bytes as blob `key`, durably, verifying them against its
    /// size and hash, renewing `hold` as they arrive; `whole`, when given, is extended by every
    /// byte on the way and returned.
    func write<Chunks: AsyncSequence>(
        _ chunks: Chunks, as key: BlobKey, size: Int64, partition index: Int, holding hold: BlobHold,
        extending whole: ResumableSHA256?
    ) async throws -> ResumableSHA256? where Chunks.Element: ContiguousBytes & Sendable {
        var whole = whole
        let writer = try await blobs.makeWriter(for: key, size: size)
        // A quarter of the hold's lifetime, but no statement per chunk for one set near zero.
        let renewal = max(holdLifetime / 4, .milliseconds(250))
        var held = ContinuousClock.now
        do {
            for try await chunk in chunks {
                if ContinuousClock.now - held > renewal {
                    try await renew(hold, partition: index)
                    held = .now
                }
                if whole != nil { chunk.withUnsafeBytes { whole?.update($0) } }
                try await writer.write(chunk)
            }
            try await writer.finish()
        } catch let error as BlobError where error.resourceShortage == nil {
            await writer.abort()
            throw Self.describe(error, partition: index)
        } catch {
            await writer.abort()
            throw error
        }
        return whole
    }

    /// Checks the bytes of a partition sent again against its size and hash, as ``write`` would,
    /// without writing them (the stored copy is intact): a client whose file changed since it
    /// declared the session is refused as on a first upload, not told its bytes were stored.
    private func verify<Chunks: AsyncSequence>(
        _ chunks: Chunks, against key: BlobKey, size: Int64, partition index: Int
    ) async throws where Chunks.Element: ContiguousBytes & Sendable {
        var hasher = SHA256()
        var received: Int64 = 0
        for try await chunk in chunks {
            chunk.withUnsafeBytes { bytes in
                received += Int64(bytes.count)
                hasher.update(bytes)
            }
            guard received <= size else {
                throw Self.describe(.sizeMismatch(expected: size, received: received), partition: index)
            }
        }
        guard received == size else {
            throw Self.describe(.sizeMismatch(expected: size, received: received), partition: index)
        }
        let actual = hasher.finalize()
        guard actual == key.sha256 else {
            throw Self.describe(.checksumMismatch(expected: key.sha256, actual: actual), partition: index)
        }
    }

    /// Whether the stored blob still hashes to its address (read whole: a re-sent
    /// partition is rare, and answering already_stored for damaged bytes would lose them).
    func isIntact(_ key: BlobKey, size: Int64) async throws -> Bool {
        var hasher = SHA256()
        do {
            for try await chunk in blobs.read(key, range: 0..<size, chunkSize: 1 << 20) {
                hasher.update(chunk)
            }
        } catch let error as BlobError where error.meansStoredBytesAreGone {
            return false
        }
        return hasher.finalize() == key.sha256
    }

    /// The refusal of the owner of the folder a grantee's session uploads into, for what only
    /// the session's creator may do (`action`: "commit it", "store its partitions"). The owner
    /// sees the session and may abort it, so it hears who can act rather than NOT_FOUND, and the
    /// same whatever the session's state: what stops it is who it is.
    static func onlyTheCreator(of id: SessionID, can action: String) -> StorageError {
        .permissionDenied(
            "upload session \(id) was opened by a principal you let write into your folder; only that "
                + "principal can \(action) (you may abort it)")
    }

    static func requireOpen(_ session: SessionRecord) throws(StorageError) {
        try requireOpen(session.id, state: session.state, committedVersion: session.committedVersion)
    }

    static func requireOpen(_ id: SessionID, state: SessionRecord.State, committedVersion: Int64?)
        throws(StorageError)
    {
        switch state {
        case .open:
            return
        case .committed:
            throw .failedPrecondition(
                "upload session \(id) is already committed (version \(committedVersion ?? 0)); "
                    + "start a new session to upload a new version")
        case .aborted:
            throw .failedPrecondition("upload session \(id) was aborted; start a new session")
        case .expired:
            throw .failedPrecondition("upload session \(id) expired; start a new session")
        }
    }

    /// What storing one partition needs of its session: one row, whatever the number of
    /// partitions (loading the whole session for every partition would make an upload's
    /// database work grow with the square of its partition count).
    private struct PartitionTargetRow: Sendable {
        /// Whether the caller opened the session; if not, it owns the folder the session
        /// uploads into (nothing else finds the row).
        var isCreator: Bool
        /// What became of the lease on the partition's blob, taken in the same round trip.
        enum Lease: Sendable {
            case taken(BlobLease)
            /// Wanted, but the blob row is being deleted by the collector.
            case refused
            /// Not wanted: the session refuses the partition, or it is stored already.
            case notTaken
        }

        var state: SessionRecord.State
        var committedVersion: Int64?
        var totalSize: Int64
        var partitionSize: Int64
        var partitionCount: Int
        /// The declared SHA-256 of the partition; nil when the index is out of range.
        var sha256: [UInt8]?
        /// The scope of the blob the partition is stored as; nil while it is not stored.
        var storedScope: String?
        /// Whose object the session uploads: the bytes go into that principal's scope.
        var ownerID: Int64
        /// Whether the session's creator may still write the object (always, for its own).
        var mayWrite: Bool
        /// Whether the session computes a whole-object SHA-256 over its partitions: not for
        /// one partition (its hash is the whole's) or when the client asked for none.
        var hashesWhole: Bool
        /// How many leading partitions the in-order whole-object hash covers, and its state.
        var wholeHashedThrough: Int
        var wholeHashState: [UInt8]?
        var lease: Lease
    }

    /// Loads the partition's target row (the caller's own session, or a grantee's into the
    /// caller's folder, for ``storePartition`` to refuse) and, when the session takes the
    /// partition from this caller and it is not stored yet, leases its blob in the same round
    /// trip: one implicit transaction (the pipeline's), committed asynchronously like every lease.
    /// The lease's conditions are the refusals ``storePartition`` reports from the row, so a
    /// refused partition leases nothing.
    private func partitionTarget(_ index: Int, of id: SessionID, by principal: Principal) async throws
        -> PartitionTargetRow
    {
        let probe = PartitionLayout.queryIndex(index)
        // Reading the declared hashes costs PostgreSQL the whole array (it is stored out of
        // line once it is large): one element is read, and the count is derived from the
        // sizes, so an upload of n partitions does not cost it n² hash reads.
        let target = PostgresStatement("""
            WITH target AS (
                SELECT s.principal_id = $2 AS is_creator, s.state, s.expires_at < clock_timestamp() AS is_expired,
                    s.committed_version, s.total_size, s.partition_size, s.partition_sha256[$3::int + 1] AS sha256,
                    \(PartitionLayout.sqlSize(
                        ofPartition: "$3::bigint", totalSize: "s.total_size", partitionSize: "s.partition_size"))
                        AS partition_bytes,
                    (SELECT sp.blob_scope FROM session_partitions sp WHERE sp.session_id = s.id AND sp.index = $3)
                        AS stored_scope,
                    coalesce(s.owner_id, s.principal_id) AS owner_id,
                    \(AccessRule.level(
                        owner: "coalesce(s.owner_id, s.principal_id)", caller: "s.principal_id", name: "s.object_name"))
                        = 'write' AS may_write,
                    s.whole_hashed_through, s.whole_hash_state, s.whole_hash_skipped
                FROM upload_sessions s WHERE s.id = $1 AND \(SessionQueries.Reach.creatorOrOwner.condition("$2"))
            ), wanted AS (
                SELECT *, coalesce(is_creator AND state = 'open' AND NOT is_expired AND may_write
                    AND sha256 IS NOT NULL AND stored_scope IS NULL, false) AS lease_wanted
                FROM target
            ), leased AS (
                INSERT INTO blobs (scope, sha256, size)
                SELECT \(BlobScope.sql(owner: "owner_id", limits: limits)), sha256, partition_bytes
                FROM wanted WHERE lease_wanted
                ON CONFLICT (scope, sha256) DO UPDATE SET last_used_at = now() WHERE NOT blobs.deleting
                RETURNING scope, sha256, (xmax = 0) AS inserted
            ), held AS (
                \(Self.holding(from: "leased", expiresIn: "$4"))
            )
            SELECT wanted.*, (SELECT inserted FROM leased) AS lease_new, (SELECT id FROM held) AS hold_id
            FROM wanted
            """, [.bytes(id.bytes), .int(principal.id), .int(probe), .double(holdLifetime.inSeconds)])
        let row = try await database.withConnection { connection in
            try connection.execute(pipeline: [Self.commitAsynchronously, target])[1].rows.first
        }
        guard let row else { throw StorageError.notFound("upload session \(id) does not exist") }
        var state = SessionRecord.State(rawValue: try row.string("state")) ?? .aborted
        if state == .open, try row.bool("is_expired") { state = .expired }
        let totalSize = try row.int("total_size"), partitionSize = try row.int("partition_size")
        let partitionCount = Int(PartitionLayout.count(totalSize: totalSize, partitionSize: partitionSize))
        let skipsWhole = try row.bool("whole_hash_skipped")
        let lease: PartitionTargetRow.Lease =
            if !(try row.bool("lease_wanted")) { .notTaken }
            else if let newBlob = try row.optionalBool("lease_new"), let hold = try row.optionalInt("hold_id") {
                .taken(BlobLease(newBlob: newBlob, hold: BlobHold(id: hold)))
            }
            else { .refused }
        return PartitionTargetRow(
            isCreator: try row.bool("is_creator"), state: state,
            committedVersion: try row.optionalInt("committed_version"),
            totalSize: totalSize, partitionSize: partitionSize,
            partitionCount: partitionCount,
            sha256: probe >= 0 ? try row.optionalBytes("sha256") : nil,
            storedScope: try row.isNull("stored_scope") ? nil : try row.string("stored_scope"),
            ownerID: try row.int("owner_id"),
            mayWrite: try row.optionalBool("may_write") ?? false,
            hashesWhole: partitionCount > 1 && !skipsWhole,
            wholeHashedThrough: Int(try row.int("whole_hashed_through")),
            wholeHashState: try row.optionalBytes("whole_hash_state"),
            lease: lease)
    }

    /// Records the stored partition (see ``record(_:size:key:hold:in:wholeHash:askingFrontier:on:)``),
    /// in a transaction shared with the partitions that finish at the same time.
    private func register(
        _ index: Int, size: Int64, key: BlobKey, hold: BlobHold, in id: SessionID, wholeHash: [UInt8]?,
        askingFrontier: Bool
    ) async throws -> Bool {
        try await grouped.run(order: "\(id)/\(index)") { connection in
            GroupedWork(try Self.record(
                index, size: size, key: key, hold: hold, in: id, wholeHash: wholeHash, askingFrontier: askingFrontier,
                on: connection))
        }
    }

    /// Records a stored partition, re-checking the session and the lease under locks (in
    /// ``RowLock``'s order: session, then blob); with `wholeHash` (the in-order whole-object
    /// hash through this partition), advances the session's hash past it unless another upload
    /// of the same partition did first. Partitions of one session register side by side (a
    /// shared lock on the session) except the one that updates it, which takes it exclusively
    /// at once rather than upgrading a shared lock another registration may also hold.
    ///
    /// With `askingFrontier`, also answers, in the same round trip, whether a
    /// ``WholeHashFrontier`` has a run of stored partitions to extend the whole-object hash over
    /// (``WholeHashFrontier/readiness(of:)``).
    static func record(
        _ index: Int, size: Int64, key: BlobKey, hold: BlobHold, in id: SessionID, wholeHash: [UInt8]?,
        askingFrontier: Bool, on connection: PostgresConnection
    ) throws -> Bool {
        // One round trip: every statement runs, and a refusal found in the answers throws, which
        // rolls back what the later statements did. The insert checks for the session row
        // and the blob row itself, so a session already purged is refused as closed and a blob
        // the collector took as a lost lease, not either as a broken reference.
        let sessionLock = wholeHash == nil ? "FOR SHARE" : RowLock.exclusive
        var statements = [
            PostgresStatement("""
                SELECT state, expires_at < now() AS is_expired FROM upload_sessions WHERE id = $1 \(sessionLock)
                """, [.bytes(id.bytes)]),
        ] + confirmingLease(key, size: size, hold: hold) + [
            PostgresStatement("""
                INSERT INTO session_partitions (session_id, index, size, sha256, blob_scope)
                SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM upload_sessions WHERE id = $1)
                    AND EXISTS (SELECT 1 FROM blobs WHERE scope = $5 AND sha256 = $4 AND NOT deleting)
                ON CONFLICT (session_id, index) DO NOTHING
                """, [.bytes(id.bytes), .int(Int64(index)), .int(size), .bytes(key.sha256), .text(key.scope)]),
        ]
        if let wholeHash {
            statements.append(PostgresStatement("""
                UPDATE upload_sessions SET whole_hash_state = $3, whole_hashed_through = $2 + 1
                WHERE id = $1 AND whole_hashed_through = $2
                """, [.bytes(id.bytes), .int(Int64(index)), .bytes(wholeHash)]))
        }
        if askingFrontier { statements.append(WholeHashFrontier.readiness(of: id)) }
        let results = try connection.execute(pipeline: statements)
        guard let session = results[0].rows.first, try session.string("state") == "open",
              !(try session.bool("is_expired"))
        else {
            throw StorageError.failedPrecondition(
                "upload session \(id) was committed, aborted or expired while partition \(index) was uploading")
        }
        try requireLease(confirmedBy: results[1], partition: index)
        return try askingFrontier && WholeHashFrontier.isReady(results[results.count - 1])
    }

    /// The partition's refusal for a client; the store's own failures (system calls with the
    /// server's paths, a closed writer) stay `BlobError`s, which reach the client as an internal
    /// error whose cause only the server log sees.
    private static func describe(_ error: BlobError, partition index: Int) -> any Error {
        switch error {
        case .checksumMismatch(let expected, let actual):
            StorageError.dataLoss(
                "partition \(index): the bytes received hash to \(Hex.encode(actual)) but the session declared "
                    + "\(Hex.encode(expected)); nothing was stored, send the partition again")
        case .sizeMismatch(let expected, let actual):
            StorageError.invalidArgument(
                "partition \(index) must be \(expected) bytes; \(actual) were sent. Nothing was stored")
        default:
            error
        }
    }
}
