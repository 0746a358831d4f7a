import Foundation
import SluiceDuration
import SluiceOpenSSL

/// An upload session as stored: its declaration and what has arrived so far.
public struct SessionRecord: Sendable, Equatable {
    /// Where a session is in its life.
    public enum State: String, Sendable {
        case open, committed, aborted, expired
    }

    /// 16 random bytes; shown to clients in hex.
    public var id: SessionID
    public var objectName: String
    public var totalSize: Int64
    public var partitionSize: Int64
    /// The declared partition hashes, in order; empty in a listing, which leaves them out
    /// (up to 10,000 of them per session: ``UploadSessions/list(of:pageSize:pageToken:openOnly:)``).
    public var partitionSHA256: [[UInt8]]
    public var objectSHA256: [UInt8]?
    /// Whether the client asked for no whole-object SHA-256 (see ``SessionDeclaration``).
    public var skipsWholeSHA256: Bool = false
    public var contentType: String
    public var userMetadata: [String: String]
    public var state: State
    public var createdAt: Date
    public var expiresAt: Date
    public var committedVersion: Int64?
    /// The object the commit made a version of (names can be deleted and reused).
    public var committedObjectID: Int64?
    /// Indexes of the partitions stored so far, ascending.
    public var storedPartitions: [Int]
    /// Bytes stored so far.
    public var storedBytes: Int64
    /// The principal whose object the session uploads when it is not the session's creator
    /// (a WRITE grantee uploading into the owner's folder); nil for the creator's own.
    public var ownerID: Int64? = nil
    /// The handle of the object's owner (empty if it has none yet).
    public var ownerHandle: String = ""

    /// The record as a client should plan by: an open session that has stored no partition
    /// may be expired by the collector once `emptyLifetime` (`--empty-session-lifetime`) has
    /// passed since its creation, so its `expiresAt` is that time when it comes first — the
    /// row keeps the full session lifetime, which a stored partition makes the real one.
    func expiringEmpty(after emptyLifetime: Duration) -> SessionRecord {
        guard state == .open, storedPartitions.isEmpty else { return self }
        var record = self
        record.expiresAt = min(expiresAt, createdAt.addingTimeInterval(emptyLifetime.inSeconds))
        return record
    }

    /// The owner of the object the session uploads, as a principal for queries.
    public func owner(for creator: Principal) -> Principal {
        guard let ownerID, ownerID != creator.id else { return creator }
        return Principal(id: ownerID, name: "", handle: ownerHandle)
    }

    /// The number of partitions, from the declared sizes (a declaration has exactly one hash for
    /// each, and a listing leaves the hashes out).
    public var partitionCount: Int {
        Int(clamping: PartitionLayout.count(totalSize: totalSize, partitionSize: partitionSize))
    }

    /// The size of partition `index`: `partitionSize`, except for a shorter last one.
    public func size(ofPartition index: Int) -> Int64 {
        PartitionLayout.size(ofPartition: index, totalSize: totalSize, partitionSize: partitionSize)
    }
}

/// How an object of a given size is cut into partitions.
public enum PartitionLayout {
    public static func count(totalSize: Int64, partitionSize: Int64) -> Int64 {
        totalSize / partitionSize + (totalSize % partitionSize == 0 ? 0 : 1)
    }

    /// A partition index as a query parameter: -1 (matching nothing) for one PostgreSQL
    /// cannot hold as an integer, or cannot add one to (array subscripts count from 1),
    /// which is out of range anyway.
    static func queryIndex(_ index: Int) -> Int64 {
        Int64(index >= 0 && index < Int(Int32.max) ? index : -1)
    }

    public static func size(ofPartition index: Int, totalSize: Int64, partitionSize: Int64) -> Int64 {
        min(partitionSize, totalSize - Int64(index) * partitionSize)
    }

    /// The same as SQL, for a statement that reads the sizes itself; the arguments are SQL
    /// expressions of bigint values.
    static func sqlSize(ofPartition index: String, totalSize: String, partitionSize: String) -> String {
        "least(\(partitionSize), \(totalSize) - \(index) * \(partitionSize))"
    }
}

/// A session id: 128 random bits. Compared in constant time because it names someone's
/// upload, even though it alone grants nothing.
public struct SessionID: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// A fresh id from the system's cryptographic random source.
    public static func random() -> SessionID {
        SessionID(bytes: RandomBytes.make(16))
    }

    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Parses the hex form clients send; nil unless it is 32 hex digits.
    public init?(hex: String) {
        guard hex.utf8.count == 32, let bytes = Hex.decode(hex.lowercased()) else { return nil }
        self.bytes = bytes
    }

    public var description: String { Hex.encode(bytes) }

    public static func == (lhs: SessionID, rhs: SessionID) -> Bool {
        guard lhs.bytes.count == rhs.bytes.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs.bytes, rhs.bytes) { difference |= left ^ right }
        return difference == 0
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(bytes) }
}
