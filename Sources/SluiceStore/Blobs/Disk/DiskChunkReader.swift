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
                let chunk = try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
                    initialized = try POSIX.readFully(descriptor, into: UnsafeMutableRawBufferPointer(buffer), at: offset, path: path)
                }
                guard chunk.count == count else { throw BlobError.truncated(key, offset: offset + Int64(chunk.count)) }
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
