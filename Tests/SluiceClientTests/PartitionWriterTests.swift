import Foundation
import SluiceDirectIO
import Testing
@testable import SluiceClient

/// A download's partitions land byte for byte at their place in the file, whether written past
/// the page cache or through it, and an attempt that starts again overwrites the failed one.
@Suite struct PartitionWriterTests {
    private static let partitionSize = 2 * 1_048_576 + 4096

    private func bytes(_ count: Int, seed: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &+ seed) &* 2_654_435_761 >> 13) }
    }

    /// Writes `partitions` (their bytes, start offsets) in pieces of `piece` bytes into a new
    /// file of `total` bytes, the first partition twice (a failed attempt of other bytes first).
    private func download(_ partitions: [([UInt8], Int64)], total: Int64, piece: Int) throws -> (Bool, [UInt8]) {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = try #require(try LocalFile.openForUpdateExclusively(directory.file("partial"), directWrites: true))
        try file.truncate(to: total)
        for (number, (content, start)) in partitions.enumerated() {
            let writer = PartitionWriter(file: file, start: start, size: Int64(content.count))
            var attempts = [content]
            if number == 0 { attempts.insert(bytes(content.count / 2 + 1, seed: 99), at: 0) }
            for attempt in attempts {
                for offset in stride(from: 0, to: attempt.count, by: piece) {
                    try attempt[offset..<min(attempt.count, offset + piece)].withUnsafeBytes {
                        try writer.write($0, at: Int64(offset))
                    }
                }
            }
            try writer.finish()
        }
        try file.sync()
        return (file.writesDirectly, [UInt8](try Data(contentsOf: URL(fileURLWithPath: file.path))))
    }

    @Test(arguments: [1_048_576, 65_537, 1000])
    func alignedPartitionsArriveWholeAndInPlace(_ piece: Int) throws {
        let size = Self.partitionSize
        let last = bytes(1_048_576 + 123, seed: 3)
        let partitions = [(bytes(size, seed: 1), Int64(0)), (bytes(size, seed: 2), Int64(size)), (last, Int64(2 * size))]
        let (direct, written) = try download(partitions, total: Int64(2 * size + last.count), piece: piece)
        #expect(direct == (DirectIO.openFlag != nil))
        #expect(written == partitions.flatMap(\.0))
    }

    @Test func partitionsOffPageBoundariesGoThroughTheCache() throws {
        let size = 1_048_576 + 1000
        let partitions = [(bytes(size, seed: 4), Int64(0)), (bytes(size, seed: 5), Int64(size)), (bytes(10, seed: 6), Int64(2 * size))]
        let (_, written) = try download(partitions, total: Int64(2 * size + 10), piece: 70_000)
        #expect(written == partitions.flatMap(\.0))
    }
}
