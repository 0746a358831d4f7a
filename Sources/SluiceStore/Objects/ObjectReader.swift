/// Streams a byte range of an object version from the blob store, partition after
/// partition, one chunk in memory at a time (two while a partition's last chunk is held
/// back for verification).
///
/// Every partition read whole is checked against its SHA-256 before its last chunk goes
/// out (``VerifiedBlobBytes``); a damaged one ends the stream with DATA_LOSS. Partitions
/// cut by the requested range are served as stored: clients check those against the
/// partition and object SHA-256 the API publishes (the CLI does).
public struct ObjectBytes: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    /// The pieces to read, in order: a partition and the range of it that falls in the request.
    let pieces: [VerifiedBlobBytes]

    /// The bytes of `range` (object offsets) of `version`; damage found is recorded in `ledger`.
    /// Unless `checked` is false (a client that checks every partition itself), each
    /// partition read whole is checked against its SHA-256.
    public init(
        _ version: ObjectVersionRecord, range: Range<Int64>, blobs: any BlobStore, chunkSize: Int,
        ledger: DamageLedger? = nil, checked: Bool = true
    ) throws {
        pieces = try version.partitions.compactMap { partition in
            // Offsets and sizes come from the database: checked, never trusted to add up.
            let (partitionEnd, overflow) = partition.offset.addingReportingOverflow(partition.size)
            guard partition.offset >= 0, partition.size >= 0, !overflow else {
                throw StorageError.corrupted(
                    "partition \(partition.index) of '\(version.name)' version \(version.version) has an impossible layout")
            }
            let start = Swift.max(range.lowerBound, partition.offset)
            let end = Swift.min(range.upperBound, partitionEnd)
            guard start < end else { return nil }
            let key = try BlobKey(scope: partition.blobScope, sha256: partition.sha256)
            return VerifiedBlobBytes(
                blobs: blobs, key: key, range: (start - partition.offset)..<(end - partition.offset),
                blobSize: checked ? partition.size : nil, chunkSize: chunkSize,
                partition: partition.index, of: "'\(version.name)' version \(version.version)", ledger: ledger,
                damageRecorded: partition.damageRecorded)
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let pieces: [VerifiedBlobBytes]
        var pieceIndex = 0
        var current: VerifiedBlobBytes.AsyncIterator?

        public mutating func next() async throws -> [UInt8]? {
            while true {
                if var iterator = current {
                    let chunk = try await iterator.next()
                    current = iterator
                    if let chunk { return chunk }
                    current = nil
                }
                guard pieceIndex < pieces.count else { return nil }
                current = pieces[pieceIndex].makeAsyncIterator()
                pieceIndex += 1
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(pieces: pieces) }
}

/// Resolves the `offset` / `length` of a read request against an object's size.
public enum ReadRange {
    /// `length` 0 reads to the end; a range past the end is cut there; an offset past the
    /// end is INVALID_ARGUMENT, naming both numbers and `what` they are counted in ("object",
    /// "partition 3").
    public static func resolve(
        offset: Int64, length: Int64, size: Int64, of what: String = "object"
    ) throws(StorageError) -> Range<Int64> {
        guard offset >= 0, length >= 0 else {
            throw .invalidArgument("offset and length must not be negative (got \(offset) and \(length))")
        }
        guard offset <= size else {
            throw .invalidArgument("offset \(offset) is past the end of the \(size)-byte \(what)")
        }
        let end = length == 0 ? size : min(size, offset + min(length, Int64.max - offset))
        return offset..<end
    }
}
