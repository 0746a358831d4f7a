import Foundation

/// One committed version of an object.
public struct ObjectVersionRecord: Sendable, Equatable {
    public var name: String
    public var version: Int64
    public var size: Int64
    /// SHA-256 of the whole object; empty while ``sha256State`` is pending.
    public var sha256: [UInt8]
    /// What ``sha256`` is worth.
    public var sha256State: WholeHashState = .verified
    /// SHA-256 of the partitions' SHA-256s concatenated in order (depends on the partition
    /// size); known at commit without reading a byte.
    public var compositeSHA256: [UInt8] = []
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
    /// SHA-256 of the whole object; empty while ``sha256State`` is pending.
    public var sha256: [UInt8]
    /// What ``sha256`` is worth.
    public var sha256State: WholeHashState = .verified
    /// SHA-256 of the partitions' SHA-256s concatenated in order (depends on the partition
    /// size); known at commit without reading a byte.
    public var compositeSHA256: [UInt8] = []
    /// The deduplication scope of the blob holding the bytes.
    public var blobScope: String
    /// Whether `damaged_blobs` held a finding about the blob when the partition was loaded;
    /// only then does a read that finds the bytes intact have a finding to clear.
    public var damageRecorded = false
}

/// What a version's whole-object SHA-256 is worth (the sha256_state column). Only
/// `verified` means the uploader's declared hash was checked against the stored bytes.
public enum WholeHashState: String, Sendable {
    /// Not known yet: the verifier has not read the bytes (out-of-order upload).
    case pending
    /// The hash of the stored bytes, equal to the one the uploader declared.
    case verified
    /// The hash of the stored bytes; the uploader declared none.
    case undeclared
    /// The hash of the stored bytes (each verified against its partition hash), which is not
    /// the one the uploader declared: the uploader's own description of its file is wrong.
    case mismatch
    /// Never computed: the uploader asked for none and declared none
    /// (``SessionDeclaration/skipsWholeSHA256``); the composite covers the object.
    case notComputed = "not_computed"
}
