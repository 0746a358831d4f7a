/// What a client declares when it opens an upload session.
public struct SessionDeclaration: Sendable {
    public var objectName: String
    public var totalSize: Int64
    public var partitionSize: Int64
    public var partitionSHA256: [[UInt8]]
    public var objectSHA256: [UInt8]?
    public var contentType: String
    public var userMetadata: [String: String]
    /// The client's idempotency id (see ``UploadSessions/create(_:by:)``); nil for none.
    public var requestID: String?
    /// Whether the client asks for no whole-object SHA-256: it checks the object by its
    /// partitions and composite, so the server spares the read-back of partitions that
    /// arrive ahead of the in-order hash (two SHA-256 passes per byte). Only without
    /// `objectSHA256`, which is always checked.
    public var skipsWholeSHA256: Bool

    /// The longest request id, in bytes.
    public static let maxRequestIDBytes = 128

    public init(
        objectName: String, totalSize: Int64, partitionSize: Int64, partitionSHA256: [[UInt8]],
        objectSHA256: [UInt8]?, contentType: String, userMetadata: [String: String], requestID: String? = nil,
        skipsWholeSHA256: Bool = false
    ) {
        self.requestID = requestID
        self.skipsWholeSHA256 = skipsWholeSHA256
        self.objectName = objectName
        self.totalSize = totalSize
        self.partitionSize = partitionSize
        self.partitionSHA256 = partitionSHA256
        self.objectSHA256 = objectSHA256
        self.contentType = contentType
        self.userMetadata = userMetadata
    }

    /// Checks that the declaration is complete and within the limits, with a message that
    /// says which field is wrong and what would be right.
    func validate(_ limits: StorageLimits) throws(StorageError) {
        _ = try ObjectName.validate(objectName)
        guard totalSize >= 0 else { throw .invalidArgument("total_size is \(totalSize); it must be 0 or more") }
        guard partitionSize > 0, partitionSize <= limits.maxPartitionSize else {
            throw .invalidArgument(
                "partition_size is \(partitionSize); it must be 1 to \(limits.maxPartitionSize) bytes")
        }
        let count = PartitionLayout.count(totalSize: totalSize, partitionSize: partitionSize)
        guard count <= Int64(limits.maxPartitionsPerSession) else {
            let smallestPartition = (totalSize - 1) / Int64(limits.maxPartitionsPerSession) + 1
            // Past the largest object the limits allow, no partition size would do.
            let advice = smallestPartition <= limits.maxPartitionSize
                ? "use partitions of at least \(smallestPartition) bytes"
                : "the largest object one session takes is \(limits.maxPartitionsPerSession) partitions of "
                    + "\(limits.maxPartitionSize) bytes (\(Int64(limits.maxPartitionsPerSession) * limits.maxPartitionSize) bytes)"
            throw .invalidArgument(
                "\(totalSize) bytes in partitions of \(partitionSize) makes \(count) partitions; the limit is "
                    + "\(limits.maxPartitionsPerSession): \(advice)")
        }
        guard partitionSHA256.count == count else {
            throw .invalidArgument(
                "partition_sha256 has \(partitionSHA256.count) entries; \(totalSize) bytes in partitions of "
                    + "\(partitionSize) need exactly \(count)")
        }
        if let bad = partitionSHA256.firstIndex(where: { $0.count != 32 }) {
            throw .invalidArgument(
                "partition_sha256[\(bad)] is \(partitionSHA256[bad].count) bytes; a SHA-256 is 32 bytes")
        }
        if let objectSHA256, objectSHA256.count != 32 {
            throw .invalidArgument("object_sha256 is \(objectSHA256.count) bytes; a SHA-256 is 32 bytes (or leave it empty)")
        }
        if objectSHA256 != nil, skipsWholeSHA256 {
            throw .invalidArgument(
                "skip_whole_sha256 asks for no whole-object SHA-256, but object_sha256 declares one to check; "
                    + "send one or the other")
        }
        guard userMetadata.count <= limits.maxUserMetadataEntries else {
            throw .invalidArgument(
                "user_metadata has \(userMetadata.count) entries; the limit is \(limits.maxUserMetadataEntries)")
        }
        for (key, value) in userMetadata {
            guard !key.isEmpty, key.utf8.count <= limits.maxUserMetadataKeyBytes, !key.utf8.contains(0) else {
                throw .invalidArgument(
                    "user_metadata key '\(key.prefix(40))' must be 1 to \(limits.maxUserMetadataKeyBytes) bytes without NUL")
            }
            guard value.utf8.count <= limits.maxUserMetadataValueBytes, !value.utf8.contains(0) else {
                throw .invalidArgument(
                    "user_metadata['\(key)'] must be at most \(limits.maxUserMetadataValueBytes) bytes without NUL")
            }
        }
        guard contentType.utf8.count <= 256, !contentType.utf8.contains(0) else {
            throw .invalidArgument("content_type must be at most 256 bytes without NUL")
        }
        if let requestID {
            guard (1...Self.maxRequestIDBytes).contains(requestID.utf8.count),
                  requestID.utf8.allSatisfy({ (0x21...0x7E).contains($0) })
            else {
                throw .invalidArgument(
                    "request_id must be 1 to \(Self.maxRequestIDBytes) printable ASCII characters without spaces "
                        + "(a UUID, say), or empty for none")
            }
        }
    }

    /// Whether `session` was opened by this very declaration, compared byte for byte
    /// (String's == would take canonically equivalent names for the same).
    func declares(_ session: SessionRecord) -> Bool {
        func spelled(_ metadata: [String: String]) -> [[UInt8]] {
            metadata.map { Array($0.key.utf8) + [0] + Array($0.value.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
        }
        return Array(objectName.utf8) == Array(session.objectName.utf8) && totalSize == session.totalSize
            && partitionSize == session.partitionSize && partitionSHA256 == session.partitionSHA256
            && objectSHA256 == session.objectSHA256 && skipsWholeSHA256 == session.skipsWholeSHA256 && Array(contentType.utf8) == Array(session.contentType.utf8)
            && spelled(userMetadata) == spelled(session.userMetadata)
    }
}
