import Foundation
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
    /// plus its fields fit the 4 MiB + 64 KiB message limit).
    public static let maxBytes = 4 * 1024 * 1024

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
    /// Stores a small object as a new version in one call. It runs the very steps of an
    /// upload session with one partition — create (write-grant check, open-session limit,
    /// request-id idempotency), store (lease, verify, fsync, record), commit (grant re-check,
    /// change-log record) — so it keeps every rule and guarantee of that path.
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
        var hasher = SHA256()
        object.data.withUnsafeBytes { hasher.update($0) }
        let actual = hasher.finalize()
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
        let session = try await create(declaration, by: principal, owner: owner)
        if session.state == .committed, let version = session.committedVersion {
            return try await objects.version(madeBy: session, version, of: principal)
        }
        if size > 0, !session.storedPartitions.contains(0) {
            _ = try await storePartition(0, of: session.id, by: principal, chunks: OneChunk(bytes: object.data))
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
