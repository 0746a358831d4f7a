import Foundation

/// One committed version of an object.
public struct ObjectVersionRecord: Sendable, Equatable {
    public var name: String
    public var version: Int64
    public var size: Int64
    public var sha256: [UInt8]
    public var contentType: String
    public var userMetadata: [String: String]
    /// When the first version of the name was committed.
    public var createdAt: Date
    /// When this version was committed.
    public var committedAt: Date
    public var partitionSize: Int64
    public var partitionCount: Int
    public var isCurrent: Bool
    public var restoredFrom: Int64?
    /// Filled when the caller asked for them.
    public var partitions: [PartitionRecord]
    /// The owner's handle (empty for a principal that has not called since handles exist).
    public var owner: String = ""
    /// The handle of the principal that made this version: the owner or a WRITE grantee.
    public var writtenBy: String = ""
}

/// One partition of a committed version, and where its bytes live.
public struct PartitionRecord: Sendable, Equatable {
    public var index: Int
    public var offset: Int64
    public var size: Int64
    public var sha256: [UInt8]
    /// The deduplication scope of the blob holding the bytes.
    public var blobScope: String
}
