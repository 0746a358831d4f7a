import SluiceS3

/// One pass over a range of an S3 blob: the S3 client's streamed, resuming GET, with its errors
/// reported as blob errors. Bytes are returned as stored, unverified (see ``BlobStore``).
final class S3ChunkReader: BlobChunkReader {
    private let key: BlobKey
    private let range: Range<Int64>
    private let stream: S3ObjectStream

    init(key: BlobKey, range: Range<Int64>, stream: S3ObjectStream) {
        self.key = key
        self.range = range
        self.stream = stream
    }

    func nextChunk() async throws -> [UInt8]? {
        try await S3BlobErrors.mapping(key, range: range) { try await stream.next() }
    }
}
