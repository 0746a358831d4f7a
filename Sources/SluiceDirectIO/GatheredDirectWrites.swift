/// Gathers bytes written one after another from a page-aligned offset in one pooled aligned
/// buffer (``AlignedBufferPool/lease()``) and hands the buffer to the writer only once it is
/// full: bytes that arrive in small pieces (a download's DATA frames, 16 KiB each) still make
/// one device write per buffer, where ``DirectWriteRun`` writes the whole pages of every piece
/// at once. ``finish(writingPages:)`` writes the whole pages gathered and hands back the last
/// partial page, for the caller to write through the page cache (a direct write cannot end
/// mid-page).
///
/// Holds its buffer until it is dropped. The system calls are the caller's.
// Safe because it is used by one writer at a time: its owner keeps it under a lock.
public final class GatheredDirectWrites: @unchecked Sendable {
    /// The file offset of the next byte appended.
    public private(set) var nextOffset: Int64
    private let buffer = AlignedBufferPool.shared.lease()
    /// Bytes gathered in the buffer, from its start (the file offset `nextOffset - filled`).
    private var filled = 0

    /// Gathers bytes whose first goes at `offset`, which must be page-aligned.
    public init(startingAt offset: Int64) {
        precondition(DirectIO.isAligned(offset), "gathered direct writes start on a page boundary")
        nextOffset = offset
    }

    /// Appends `bytes`, calling `writingPages(pages, fileOffset)` with the whole buffer each
    /// time it fills.
    public func append(
        _ bytes: UnsafeRawBufferPointer, writingPages: (UnsafeRawBufferPointer, Int64) throws -> Void
    ) rethrows {
        var rest = bytes
        while !rest.isEmpty {
            let taken = min(rest.count, buffer.bytes.count - filled)
            UnsafeMutableRawBufferPointer(rebasing: buffer.bytes[filled..<(filled + taken)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: rest[..<taken]))
            filled += taken
            nextOffset += Int64(taken)
            rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
            if filled == buffer.bytes.count {
                try writingPages(UnsafeRawBufferPointer(buffer.bytes), nextOffset - Int64(filled))
                filled = 0
            }
        }
    }

    /// Writes the whole pages gathered and returns the bytes past the last one (fewer than a
    /// page; empty when the bytes end on a page boundary) with their file offset; nothing is
    /// gathered afterwards.
    public func finish(
        writingPages: (UnsafeRawBufferPointer, Int64) throws -> Void
    ) rethrows -> (bytes: [UInt8], offset: Int64) {
        let wholePages = filled - filled % AlignedBufferPool.alignment
        let start = nextOffset - Int64(filled)
        if wholePages > 0 { try writingPages(UnsafeRawBufferPointer(rebasing: buffer.bytes[..<wholePages]), start) }
        let tail = Array(UnsafeRawBufferPointer(rebasing: buffer.bytes[wholePages..<filled]))
        filled = 0
        return (tail, start + Int64(wholePages))
    }
}
