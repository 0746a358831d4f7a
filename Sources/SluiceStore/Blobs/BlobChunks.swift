/// The bytes of a blob range as an asynchronous sequence of chunks, read one at a time on demand.
///
/// Each `next()` reads the following chunk only when the consumer asks for it, so a slow consumer
/// (a download on a slow link) slows the reads and no more than one chunk is held at once. Each
/// iteration starts a fresh read of the range.
///
/// Stores produce their chunks through a ``BlobChunkReader``; this type erases which store it is,
/// so that ``BlobStore`` needs no associated type and stays usable as `any BlobStore`.
public struct BlobChunks: AsyncSequence, Sendable {
    public typealias Element = [UInt8]
    public typealias Failure = any Error

    private let makeReader: @Sendable () -> any BlobChunkReader

    /// A sequence whose every iteration reads through a new reader from `makeReader`.
    public init(_ makeReader: @escaping @Sendable () -> any BlobChunkReader) {
        self.makeReader = makeReader
    }

    public func makeAsyncIterator() -> Iterator {
        Iterator(reader: makeReader())
    }

    /// Pulls chunks from one reader.
    public struct Iterator: AsyncIteratorProtocol {
        let reader: any BlobChunkReader

        public mutating func next() async throws -> [UInt8]? {
            try await reader.nextChunk()
        }
    }
}

/// One pass over a blob range, kept by a store: the cursor behind a ``BlobChunks`` iterator.
///
/// A reader is a class so that it can release what it holds (a file descriptor, a connection)
/// when the consumer stops early and drops the iterator.
public protocol BlobChunkReader: AnyObject, Sendable {
    /// The next chunk, or nil once the range is exhausted. Never returns an empty chunk.
    func nextChunk() async throws -> [UInt8]?
}
