/// Cuts bytes written one after another from a page-aligned offset into whole pages for direct
/// writes: each ``append(_:writingPages:)`` hands the whole pages it completes, from a pooled
/// aligned buffer, to its `writingPages` closure; the last partial page waits until
/// ``takeTail()``, for the caller to write through the page cache (a direct write cannot end
/// mid-page).
///
/// The system calls (and what to do when a file system refuses direct I/O) are the caller's.
public struct DirectWriteRun: Sendable {
    /// The file offset of the next byte appended.
    public private(set) var nextOffset: Int64
    /// Bytes appended past the last whole page handed out.
    private var tail: [UInt8] = []

    /// A run whose first byte goes at `offset`, which must be page-aligned.
    public init(startingAt offset: Int64) {
        precondition(DirectIO.isAligned(offset), "a direct write run starts on a page boundary")
        self.nextOffset = offset
    }

    /// Appends `bytes`, calling `writingPages(pages, fileOffset)` for each run of whole pages
    /// (at most one pool buffer) that is complete.
    public mutating func append(
        _ bytes: UnsafeRawBufferPointer, writingPages: (UnsafeRawBufferPointer, Int64) throws -> Void
    ) rethrows {
        let alignment = AlignedBufferPool.alignment
        var pageStart = nextOffset - Int64(tail.count)
        nextOffset += Int64(bytes.count)
        try AlignedBufferPool.shared.withBuffer { bounce in
            var filled = tail.count
            tail.withUnsafeBytes { bounce.copyMemory(from: $0) }
            tail.removeAll(keepingCapacity: true)
            var rest = bytes
            while true {
                let taken = min(rest.count, bounce.count - filled)
                if taken > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: bounce[filled..<filled + taken])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: rest[..<taken]))
                }
                filled += taken
                rest = UnsafeRawBufferPointer(rebasing: rest[taken...])
                if rest.isEmpty { break }
                try writingPages(UnsafeRawBufferPointer(bounce), pageStart)
                pageStart += Int64(bounce.count)
                filled = 0
            }
            let wholePages = filled - filled % alignment
            if wholePages > 0 { try writingPages(UnsafeRawBufferPointer(rebasing: bounce[..<wholePages]), pageStart) }
            tail.append(contentsOf: UnsafeRawBufferPointer(rebasing: bounce[wholePages..<filled]))
        }
    }

    /// The bytes past the last whole page (fewer than a page; empty when the run ended on a
    /// page boundary) and their file offset; the run holds nothing afterwards.
    public mutating func takeTail() -> (bytes: [UInt8], offset: Int64) {
        defer { tail = [] }
        return (tail, nextOffset - Int64(tail.count))
    }
}
