import Testing
@testable import SluiceDirectIO

/// Gathered direct writes hand out whole pool buffers while bytes come in, then at the finish
/// the whole pages left, in order and without gaps from aligned memory, and give back exactly
/// the bytes past the last whole page.
@Suite struct GatheredDirectWritesTests {
    @Test(arguments: [[1], [4095, 2], [16_375], [1_048_576 + 5, 3], [70_001, 0, 1_048_576]])
    func writesFullBuffersThenWholePagesAndKeepsTheRest(_ pieces: [Int]) {
        let total = 3 * 1_048_576 + 4097 + 4096
        let start: Int64 = 8 << 20
        let input = (0..<total).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let gathered = GatheredDirectWrites(startingAt: start)
        var writes: [(offset: Int64, bytes: [UInt8], aligned: Bool)] = []
        let record = { (written: UnsafeRawBufferPointer, at: Int64) in
            let aligned = Int(bitPattern: written.baseAddress) % AlignedBufferPool.alignment == 0
            writes.append((at, Array(written), aligned))
        }
        var offset = 0
        var piece = 0
        while offset < total {
            let end = min(total, offset + pieces[piece % pieces.count])
            input[offset..<end].withUnsafeBytes { gathered.append($0, writingPages: record) }
            offset = end
            piece += 1
        }
        #expect(gathered.nextOffset == start + Int64(total))
        #expect(writes.count == 3 && writes.allSatisfy { $0.bytes.count == AlignedBufferPool.shared.bufferSize })
        let tail = gathered.finish(writingPages: record)
        #expect(writes.count == 4 && writes[3].bytes.count == 2 * 4096)
        var next = start
        for write in writes {
            #expect(write.offset == next && write.aligned)
            next += Int64(write.bytes.count)
        }
        #expect(tail.offset == next && tail.bytes.count == 1)
        #expect(writes.flatMap(\.bytes) + tail.bytes == input)
    }

    @Test func bytesShorterThanAPageAllComeBackAsTheTail() {
        let gathered = GatheredDirectWrites(startingAt: 4096)
        [UInt8]([1, 2, 3]).withUnsafeBytes { bytes in gathered.append(bytes) { _, _ in Issue.record("no page is whole") } }
        let tail = gathered.finish { _, _ in Issue.record("no page is whole") }
        #expect(tail.bytes == [1, 2, 3] && tail.offset == 4096)
    }
}
