import Foundation
import Testing

@testable import SluiceClient

/// Telling a file whose size stat does not report (which `upload` refuses and `sync` skips)
/// from an empty file and from a file that changed while it was read.
@Suite struct UnsizedFileTests {
    @Test func aProcFileClaimsEmptyButAnEmptyOrFullRegularFileDoesNot() throws {
        let proc = try LocalFile.openForReading("/proc/version")
        #expect(try UnsizedFile.claimsEmpty(proc, proc.status()))

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        for content in [[], [UInt8](repeating: 7, count: 10)] {
            let file = try LocalFile.openForReading(try directory.write(content, to: "f\(content.count)"))
            #expect(try !UnsizedFile.claimsEmpty(file, file.status()))
        }
    }

    @Test func aShortReadIsTheSizesFaultOnlyWhileStatSaysTheSame() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = try directory.write([UInt8](repeating: 1, count: 100), to: "f")
        let file = try LocalFile.openForReading(path)
        let status = try file.status()
        #expect(try UnsizedFile.explainsShortRead(of: file, status))
        #expect(truncate(path, 50) == 0)
        #expect(try !UnsizedFile.explainsShortRead(of: file, status))
    }
}
