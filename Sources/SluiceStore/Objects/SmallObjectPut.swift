import Foundation
import SluiceMetrics
import SluiceOpenSSL

/// A whole small object sent in one call (PutObject).
public struct SmallObject: Sendable {
    public var name: String
    public var data: Data
    /// The SHA-256 the caller declares for `data`.
    public var sha256: [UInt8]
    public var contentType: String
    public var userMetadata: [String: String]
    /// The caller's idempotency id; nil for none. Shares its namespace with CreateSession's.
    public var requestID: String?

    /// The most bytes one PutObject carries: what one request message holds (4 MiB of data
    /// plus the largest fields allowed fit the 4 MiB + 128 KiB message limit).
    public static let maxBytes = 4 * 1024 * 1024

    /// How long the hidden session of a put without a request id lives (at most; never longer
    /// than `--session-lifetime`). Nobody can resume such a session, so it need only outlast
    /// the put itself; when sluiced dies mid-put, its open-session slot and reserved bytes come
    /// back within this, not after `--empty-session-lifetime`.
    public static let unclaimedSessionLifetime: Duration = .seconds(300)

    public init(
        name: String, data: Data, sha256: [UInt8], contentType: String, userMetadata: [String: String],
        requestID: String?
    ) {
        self.name = name
        self.data = data
        self.sha256 = sha256
        self.contentType = contentType
        self.userMetadata = userMetadata
        self.requestID = requestID
    }
}

extension UploadSessions {
    /// Stores a small object as a new version in one call. It keeps every rule and guarantee
    /// of an upload session with one partition (it is one, listed as such): write-grant check,
    /// open-session limit, quotas, request-id idempotency, verification, durability, the
    /// commit's re-checks and its change-log record.
    ///
    /// It costs two transactions and at most one log flush where the session path costs four
    /// of each. The first opens the session and leases the blob in two round trips and a
    /// COMMIT, and commits asynchronously:
    /// nothing is acknowledged on it, and the second — which records the partition and makes
    /// the version, after the bytes are durable — commits synchronously behind it in the same
    /// write-ahead log, so it can never survive a crash that the first did not. The second is
    /// shared with the puts and commits that finish at the same time (``GroupCommit``).
    ///
    /// A retry with the same request id finds the session the first call made and carries
    /// it on from where it stopped: a committed one answers its version.
    public func put(_ object: SmallObject, by principal: Principal, owner: Principal?, objects: ObjectCatalog)
        async throws -> ObjectVersionRecord
    {
        guard object.data.count <= SmallObject.maxBytes else {
            throw StorageError.invalidArgument(
                "data is \(object.data.count) bytes; PutObject takes at most \(SmallObject.maxBytes) bytes (4 MiB). "
                    + "Upload larger objects with an upload session (CreateSession, UploadPartition, CommitSession)")
        }
        guard object.sha256.count == 32 else {
            throw StorageError.invalidArgument(
                "sha256 is \(object.sha256.count) bytes; PutObject needs the 32-byte SHA-256 of data")
        }
        let actual = object.data.withUnsafeBytes { SHA256.hash($0) }
        guard actual == object.sha256 else {
            throw StorageError.dataLoss(
                "data hashes to \(Hex.encode(actual)) but the request declared sha256 \(Hex.encode(object.sha256)); "
                    + "nothing was stored, send it again")
        }
        let size = Int64(object.data.count)
        let declaration = SessionDeclaration(
            objectName: object.name, totalSize: size, partitionSize: max(size, 1),
            partitionSHA256: size == 0 ? [] : [object.sha256], objectSHA256: object.sha256,
            contentType: object.contentType, userMetadata: object.userMetadata, requestID: object.requestID)
        try declaration.validate(limits)
        let owner = owner ?? principal
        var putLimits = self.limits
        if object.requestID == nil {
            putLimits.sessionLifetime = min(putLimits.sessionLifetime, SmallObject.unclaimedSessionLifetime)
        }
        let limits = putLimits
        let key = try BlobKey(scope: BlobScope.of(owner: owner.id, limits: limits), sha256: object.sha256)
        let id = SessionID.random()
        // The lease travels with the session's insert. It also renews a blob the session finds
        // already held, whose refusal then matters only if that blob proves damaged.
        let leasing = size > 0 ? self.leasing(key, size: size) : []
        let (session, lease) = try await waitingOutReclaim {
            try await database.transaction { connection -> (SessionRecord, Result<BlobLease, any Error>?) in
                let (session, leased) = try Self.open(
                    id, declaration, by: principal, owner: owner, limits: limits, on: connection, alongside: leasing)
                let lease = leased.last.map { answer in Result { try Self.lease(answeredBy: answer) } }
                if !session.storedPartitions.contains(0), case .failure(let refusal)? = lease { throw refusal }
                return (session, lease)
            }
        }
        let hold = try? lease?.get().hold
        guard session.id == id else {
            if let hold { await release(hold) }
            return try await resume(session, of: object, by: principal, objects: objects)
        }
        SluiceMetrics.sessionCreated()
        var stored = false  // whether the bytes reached the store (to give back if the put fails)
        do {
            // A blob the owner already holds stands in for these bytes only while it is intact:
            // one that rotted or vanished since is rewritten from them, as UploadPartition does,
            // so an acknowledged put is always readable.
            let arriving: ArrivingPartition?
            if session.storedPartitions.contains(0), try await isIntact(key, size: size) {
                SluiceMetrics.partitionStored(bytes: size, deduplicated: true)
                arriving = nil
            } else if let lease {
                let lease = try lease.get()
                _ = try await write(
                    OneChunk(bytes: object.data), as: key, size: size, partition: 0, holding: lease.hold, extending: nil)
                stored = true
                SluiceMetrics.partitionStored(bytes: size, deduplicated: !lease.newBlob)
                arriving = ArrivingPartition(index: 0, size: size, key: key, hold: lease.hold)
            } else {
                arriving = nil  // no bytes
            }
            let name = object.name
            let made = try await grouped.run(order: GroupOrder.object(owner, name)) { connection in
                try Self.commitLocked(id, by: principal, into: owner, name, recording: arriving, on: connection)
                    .recordingItsChange()
            }
            // A blob found already held was leased too; the version's row keeps it now.
            if arriving == nil, let hold { await release(hold) }
            guard let record = made.record else { throw ObjectCatalog.missing(name, made.version) }
            return record
        } catch {
            // The bytes are kept by nothing now (a retry with the request id takes a hold of its
            // own). Without a request id nobody can resume this session either: give its slot
            // and its reservation back now rather than at its expiry — also when the call failed
            // because its caller gave up (deadline, cancel), so in a task the cancellation does
            // not reach.
            if let hold { await giveBack(hold, of: key, stored: stored) }
            if object.requestID == nil {
                await Task { _ = try? await self.abort(id, of: principal) }.value
            }
            throw error
        }
    }

    /// Carries on the session an earlier PutObject with the same request id made.
    ///
    /// That call may still be running — a retry that overlaps its first attempt — and commit
    /// the session while this one stores the partition: the store then refuses with
    /// FAILED_PRECONDITION (the session is no longer open), and the commit that follows
    /// answers the version the other call made, as a retried commit does. Only a session
    /// that closed without a version (aborted, expired) fails there.
    private func resume(_ session: SessionRecord, of object: SmallObject, by principal: Principal, objects: ObjectCatalog)
        async throws -> ObjectVersionRecord
    {
        if session.state == .committed, let version = session.committedVersion {
            return try await objects.version(madeBy: session, version, of: principal)
        }
        if !object.data.isEmpty, !session.storedPartitions.contains(0) {
            do {
                _ = try await storePartition(0, of: session.id, by: principal, chunks: OneChunk(bytes: object.data))
            } catch StorageError.failedPrecondition {
                // Closed meanwhile: the commit below tells by what.
            }
        }
        return try await commit(session.id, by: principal, objects: objects)
    }
}

/// A byte buffer as an asynchronous sequence of one chunk, for the partition writer.
private struct OneChunk: AsyncSequence, Sendable {
    typealias Element = Data
    let bytes: Data

    struct AsyncIterator: AsyncIteratorProtocol {
        var bytes: Data?
        mutating func next() async throws -> Data? {
            defer { bytes = nil }
            return bytes
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes) }
}
