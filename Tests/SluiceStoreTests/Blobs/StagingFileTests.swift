import Foundation
import Testing
import SluiceDirectIO
@testable import SluiceStore

/// Staging files: a large blob's bytes go past the page cache in whole pages, and the file
/// holds exactly what was appended, however the appends were cut.
@Suite struct StagingFileTests {
    /// Appends `bytes` in pieces of the given sizes (cycled) to a new staging file for a blob
    /// of that size, finishes it, and returns whether it was still direct before finishing,
    /// then the file's contents.
    private func write(_ bytes: [UInt8], pieces: [Int], mayBypassCache: Bool = true) throws -> (Bool, [UInt8]) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-staging-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var file = try StagingFile(creating: path, size: Int64(bytes.count), mayBypassCache: mayBypassCache)
        var offset = 0
        var piece = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + pieces[piece % pieces.count])
            try bytes[offset..<end].withUnsafeBytes { try file.append($0) }
            offset = end
            piece += 1
        }
        let wasDirect = file.isDirect
        try file.finishWriting()
        POSIX.closeFile(file.descriptor)
        return (wasDirect, [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test(arguments: [
        [1, 4095, 1_048_576 + 7, 0, 333],
        [4096],
        [2 * 1_048_576 + 1],
        [1_048_576],
        [65_537, 1],
    ])
    func largeBlobsGoPastThePageCacheAndKeepEveryByte(_ pieces: [Int]) throws {
        let bytes = testBytes(3 * 1_048_576 + 4097, seed: UInt64(pieces.count))
        let (wasDirect, written) = try write(bytes, pieces: pieces)
        #expect(wasDirect == (DirectIO.openFlag != nil))
        #expect(written == bytes)
    }

    @Test func aBlobEndingOnAPageBoundaryKeepsEveryByte() throws {
        let bytes = testBytes(2 * 1_048_576, seed: 9)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-staging-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var file = try StagingFile(creating: path, size: Int64(bytes.count), mayBypassCache: true)
        try bytes[..<5000].withUnsafeBytes { try file.append($0) }
        try bytes[5000...].withUnsafeBytes { try file.append($0) }
        try file.finishWriting()
        let finishedDirect = file.isDirect
        #expect(!finishedDirect)
        POSIX.closeFile(file.descriptor)
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) == bytes)
    }

    @Test func smallBlobsAndReadBackFilesStayInThePageCache() throws {
        let small = testBytes(Int(DirectIO.threshold) - 1, seed: 5)
        #expect(try write(small, pieces: [70_000]) == (false, small))
        let spooled = testBytes(2 * 1_048_576 + 3, seed: 6)
        #expect(try write(spooled, pieces: [70_000], mayBypassCache: false) == (false, spooled))
    }
}
