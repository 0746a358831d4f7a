import Testing
@testable import SluiceDirectIO

/// A direct write run hands out only whole, aligned pages, in order and without gaps, and
/// keeps back exactly the bytes past the last whole page.
@Suite struct DirectWriteRunTests {
    private struct Written {
        var offset: Int64
        var bytes: [UInt8]
        var alignedMemory: Bool
    }

    private func run(_ total: Int, pieces: [Int], from start: Int64) -> (pages: [Written], tail: [UInt8], tailOffset: Int64, input: [UInt8]) {
        let input = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        var run = DirectWriteRun(startingAt: start)
        var pages: [Written] = []
        var offset = 0
        var piece = 0
        while offset < total {
            let end = min(total, offset + pieces[piece % pieces.count])
            input[offset..<end].withUnsafeBytes { bytes in
                run.append(bytes) { written, at in
                    let aligned = Int(bitPattern: written.baseAddress) % AlignedBufferPool.alignment == 0
                    pages.append(Written(offset: at, bytes: Array(written), alignedMemory: aligned))
                }
            }
            offset = end
            piece += 1
        }
        #expect(run.nextOffset == start + Int64(total))
        let tail = run.takeTail()
        return (pages, tail.bytes, tail.offset, input)
    }

    @Test(arguments: [[1], [4095, 2], [4096], [1_048_576 + 5, 3], [70_001, 0, 1_048_576], [3 * 1_048_576]])
    func handsOutWholeAlignedPagesAndKeepsTheRest(_ pieces: [Int]) {
        let total = 3 * 1_048_576 + 4097
        let start: Int64 = 8 << 20
        let (pages, tail, tailOffset, input) = run(total, pieces: pieces, from: start)
        var next = start
        for page in pages {
            #expect(page.offset == next)
            #expect(page.bytes.count % AlignedBufferPool.alignment == 0 && !page.bytes.isEmpty)
            #expect(page.bytes.count <= AlignedBufferPool.shared.bufferSize)
            #expect(page.alignedMemory)
            next += Int64(page.bytes.count)
        }
        #expect(tailOffset == next)
        #expect(tail.count == total % AlignedBufferPool.alignment)
        #expect(pages.flatMap(\.bytes) + tail == input)
    }

    @Test func aRunEndingOnAPageBoundaryHasNoTail() {
        let (pages, tail, tailOffset, input) = run(2 * 4096, pieces: [100], from: 0)
        #expect(tail.isEmpty)
        #expect(tailOffset == 2 * 4096)
        #expect(pages.flatMap(\.bytes) == input)
    }

    @Test func bytesShorterThanAPageAllWaitForTheTail() {
        let (pages, tail, tailOffset, input) = run(4000, pieces: [1000], from: 4096)
        #expect(pages.isEmpty)
        #expect(tail == input)
        #expect(tailOffset == 4096)
    }
}
