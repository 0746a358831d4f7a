#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Page-aligned scratch buffers for direct I/O, lent for the length of one blocking call and
/// kept for the next: a file written past the page cache needs its source aligned, and the bytes
/// a writer is handed (a slice of a received message) are not.
///
/// Only as many buffers exist as calls use at once (the store's pool threads); at most
/// `idleLimit` are kept between calls, the rest go back to the allocator.
public final class AlignedBufferPool: Sendable {
    /// The pool a process's direct writers share: 1 MiB buffers (one device write each).
    public static let shared = AlignedBufferPool(bufferSize: 1 << 20, idleLimit: 8)

    /// The alignment of every buffer, and of every direct write's length and offset: a page,
    /// which covers devices with 512-byte and 4 KiB logical blocks.
    public static let alignment = 4096

    public let bufferSize: Int
    private let idleLimit: Int
    private let idle = Mutex<[Buffer]>([])

    /// Owns the memory it points at; only this pool allocates and frees it.
    fileprivate struct Buffer: @unchecked Sendable {
        let start: UnsafeMutableRawPointer
    }

    public init(bufferSize: Int, idleLimit: Int) {
        precondition(bufferSize > 0 && bufferSize % Self.alignment == 0, "buffers are whole pages")
        self.bufferSize = bufferSize
        self.idleLimit = idleLimit
    }

    deinit {
        for buffer in idle.withLock({ $0 }) { free(buffer.start) }
    }

    /// Runs `body` with a buffer of `bufferSize` bytes at a page-aligned address.
    public func withBuffer<T>(_ body: (UnsafeMutableRawBufferPointer) throws -> T) rethrows -> T {
        let buffer = take()
        defer { giveBack(buffer) }
        return try body(UnsafeMutableRawBufferPointer(start: buffer.start, count: bufferSize))
    }

    /// A buffer of `bufferSize` bytes at a page-aligned address, lent until the lease is
    /// dropped: for a writer that fills one buffer over many calls.
    public func lease() -> Lease {
        Lease(pool: self, buffer: take())
    }

    /// A buffer lent by ``lease()``; it goes back to its pool when the lease is dropped.
    public final class Lease {
        public let bytes: UnsafeMutableRawBufferPointer
        private let pool: AlignedBufferPool
        private let buffer: Buffer

        fileprivate init(pool: AlignedBufferPool, buffer: Buffer) {
            self.pool = pool
            self.buffer = buffer
            self.bytes = UnsafeMutableRawBufferPointer(start: buffer.start, count: pool.bufferSize)
        }

        deinit { pool.giveBack(buffer) }
    }

    private func take() -> Buffer {
        idle.withLock { $0.popLast() } ?? Self.allocate(bufferSize)
    }

    private func giveBack(_ buffer: Buffer) {
        let kept = idle.withLock { idle in
            guard idle.count < idleLimit else { return false }
            idle.append(buffer)
            return true
        }
        if !kept { free(buffer.start) }
    }

    private static func allocate(_ size: Int) -> Buffer {
        var start: UnsafeMutableRawPointer?
        guard posix_memalign(&start, alignment, size) == 0, let start else {
            fatalError("out of memory for a \(size)-byte aligned buffer")
        }
        return Buffer(start: start)
    }
}
