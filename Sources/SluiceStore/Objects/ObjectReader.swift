/// Streams a byte range of an object version from the blob store, partition after
/// partition, one chunk in memory at a time.
///
/// Bytes are served as stored; integrity is checked by clients against the partition and
/// object SHA-256 the API publishes (the CLI does), not re-hashed on every read.
public struct ObjectBytes: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    let blobs: any BlobStore
    /// The pieces to read, in order: a blob and the range of it that falls in the request.
    let pieces: [(key: BlobKey, range: Range<Int64>)]
    let chunkSize: Int

    /// The bytes of `range` (object offsets) of `version`.
    public init(_ version: ObjectVersionRecord, range: Range<Int64>, blobs: any BlobStore, chunkSize: Int) throws {
        self.blobs = blobs
        self.chunkSize = chunkSize
        pieces = try version.partitions.compactMap { partition in
            let start = Swift.max(range.lowerBound, partition.offset)
            let end = Swift.min(range.upperBound, partition.offset + partition.size)
            guard start < end else { return nil }
            let key = try BlobKey(scope: partition.blobScope, sha256: partition.sha256)
            return (key, (start - partition.offset)..<(end - partition.offset))
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let sequence: ObjectBytes
        var pieceIndex = 0
        var current: BlobChunks.Iterator?

        public mutating func next() async throws -> [UInt8]? {
            while true {
                if var iterator = current {
                    let chunk = try await iterator.next()
                    current = iterator
                    if let chunk { return chunk }
                    current = nil
                }
                guard pieceIndex < sequence.pieces.count else { return nil }
                let piece = sequence.pieces[pieceIndex]
                pieceIndex += 1
                current = sequence.blobs.read(piece.key, range: piece.range, chunkSize: sequence.chunkSize)
                    .makeAsyncIterator()
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(sequence: self) }
}

/// Resolves the `offset` / `length` of a read request against an object's size.
public enum ReadRange {
    /// `length` 0 reads to the end; a range past the end is cut there; an offset past the
    /// end is INVALID_ARGUMENT, naming both numbers.
    public static func resolve(offset: Int64, length: Int64, size: Int64) throws(StorageError) -> Range<Int64> {
        guard offset >= 0, length >= 0 else {
            throw .invalidArgument("offset and length must not be negative (got \(offset) and \(length))")
        }
        guard offset <= size else {
            throw .invalidArgument("offset \(offset) is past the end of the \(size)-byte object")
        }
        let end = length == 0 ? size : min(size, offset + min(length, Int64.max - offset))
        return offset..<end
    }
}
