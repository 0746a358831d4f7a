#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// One pass over a range of a disk blob: opens the file on the first request, then `pread`s one
/// chunk per request on the store's thread pool.
///
/// Holding the descriptor for the whole pass means a concurrent delete or rename-over of the
/// same key cannot switch files mid-read. Bytes are returned as stored, unverified (see
/// ``BlobStore``).
///
/// Chunks are read into a few buffers used in turn (``ChunkBuffers``) rather than a fresh
/// allocation per chunk: a consumer holds at most two chunks at once (one held back for
/// verification, one being sent), so the third buffer is free again when its turn comes and
/// reading into it allocates nothing. A consumer that keeps chunks longer only costs a copy.
final class DiskChunkReader: BlobChunkReader {
    private enum State {
        case unopened
        case reading(descriptor: Int32, offset: Int64)
        case done
    }

    private let key: BlobKey
    private let path: String
    private let range: Range<Int64>
    private let chunkSize: Int
    private let io: BlockingIO
    private let state = Mutex(State.unopened)
    private let buffers = Mutex(ChunkBuffers())

    init(key: BlobKey, path: String, range: Range<Int64>, chunkSize: Int, io: BlockingIO) {
        self.key = key
        self.path = path
        self.range = range
        self.chunkSize = chunkSize
        self.io = io
    }

    /// A consumer that stops early drops the reader; closing a read-only descriptor does no I/O,
    /// so it is done right here rather than queued on the pool.
    deinit {
        state.withLock { state in
            if case .reading(let descriptor, _) = state { POSIX.closeFile(descriptor) }
        }
    }

    func nextChunk() async throws -> [UInt8]? {
        if state.withLock({ if case .done = $0 { true } else { false } }) { return nil }
        return try await io.run { [self] in try state.withLock { state in try readChunk(&state) } }
    }

    private func readChunk(_ state: inout State) throws -> [UInt8]? {
        switch state {
        case .done:
            return nil
        case .unopened:
            do {
                state = .reading(descriptor: try open(), offset: range.lowerBound)
            } catch {
                state = .done
                throw error
            }
            return try readChunk(&state)
        case .reading(let descriptor, let offset):
            guard offset < range.upperBound else {
                POSIX.closeFile(descriptor)
                state = .done
                return nil
            }
            let count = Int(min(Int64(chunkSize), range.upperBound - offset))
            do {
                let (chunk, read) = try buffers.withLock { buffers in
                    try buffers.fill(count) { try POSIX.readFully(descriptor, into: $0, at: offset, path: path) }
                }
                guard read == count else { throw BlobError.truncated(key, offset: offset + Int64(read)) }
                state = .reading(descriptor: descriptor, offset: offset + Int64(count))
                return chunk
            } catch {
                POSIX.closeFile(descriptor)
                state = .done
                throw error
            }
        }
    }

    /// Opens the blob and checks that the range lies inside it.
    private func open() throws -> Int32 {
        let descriptor: Int32
        do {
            descriptor = try POSIX.openFile(path, flags: O_RDONLY)
        } catch BlobError.io(_, _, let code) where code == ENOENT || code == ENOTDIR {
            throw BlobError.notFound(key)
        }
        do {
            let size = try POSIX.status(descriptor, path: path).size
            guard range.lowerBound >= 0, range.upperBound <= size else {
                throw BlobError.rangeOutOfBounds(requested: range, size: size)
            }
            return descriptor
        } catch {
            POSIX.closeFile(descriptor)
            throw error
        }
    }
}

/// The buffers one reader fills in turn. Filling a buffer the consumer still holds copies it
/// first (copy-on-write), so reuse is an optimisation, never a hazard.
struct ChunkBuffers {
    /// Enough for the two chunks a verifying consumer holds plus the one being read.
    static let count = 3
    private var pool = [[UInt8]](repeating: [], count: count)
    private var next = 0

    /// The next buffer, sized `count` and filled by `read` (which returns how many bytes it
    /// read), and that number.
    mutating func fill(_ count: Int, _ read: (UnsafeMutableRawBufferPointer) throws -> Int) rethrows -> ([UInt8], Int) {
        let slot = next
        next = (next + 1) % Self.count
        guard pool[slot].count == count else {
            // A new buffer is read into as it is made: zeroing it first would touch every
            // byte once more (a reader's first chunks, and every chunk of a short blob).
            var done = 0
            pool[slot] = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                done = try read(UnsafeMutableRawBufferPointer(buffer))
                initialized = done
            }
            return (pool[slot], done)
        }
        let done = try pool[slot].withUnsafeMutableBytes { try read($0) }
        return (done == count ? pool[slot] : Array(pool[slot][..<done]), done)
    }
}
