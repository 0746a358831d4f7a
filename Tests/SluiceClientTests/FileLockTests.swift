import Foundation
import Testing
@testable import SluiceClient

/// Two runs of one command never both hold a file's lock, and a file its holder renamed away
/// before letting go is never the one the next run writes.
@Suite struct FileLockTests {
    @Test func aLockFileIsHeldByOneTakerAndRemovedWhenItGoes() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("upload.lock")
        var first = try LockFile.take(path)
        #expect(first != nil)
        #expect(try LockFile.take(path) == nil)
        first = nil
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(try LockFile.take(path) != nil)
    }

    /// A symbolic link found where the CLI makes a file of its own (a partial download, a
    /// temporary) is refused, never written through to what it points at.
    @Test func aLinkWhereTheCLIMakesItsOwnFileIsNotWrittenThrough() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let victim = directory.file("victim")
        try Data("kept".utf8).write(to: URL(fileURLWithPath: victim))
        for name in [".out.sluice-part", ".out.sluice-part.json"] {
            let path = directory.file(name)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
            #expect(throws: (any Error).self) { _ = try LocalFile.openForUpdateExclusively(path) }
            #expect(throws: (any Error).self) { _ = try LocalFile.openForUpdate(path) }
        }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "kept")
    }

    @Test func aFileOpenedExclusivelyIsRefusedToASecondOpener() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file(".out.sluice-part")
        var first = try LocalFile.openForUpdateExclusively(path)
        #expect(first != nil)
        #expect(try LocalFile.openForUpdateExclusively(path) == nil)
        first = nil
        #expect(try LocalFile.openForUpdateExclusively(path) != nil)
    }

    @Test func aFileRenamedAwayByItsHolderIsNotTheOneLockedNext() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file(".out.sluice-part"), target = directory.file("out")
        var first = try LocalFile.openForUpdateExclusively(path)
        try [UInt8]("finished".utf8).withUnsafeBytes { try first!.write($0, at: 0) }
        // As a second run would: it opens the file before the holder renames it onto the
        // target and lets go, and locks it after.
        let early = open(path, O_RDWR | O_CLOEXEC)
        defer { close(early) }
        #expect(rename(path, target) == 0)
        first = nil
        var opens = 0
        let locked = try #require(try FileLock.openLocked(path) {
            opens += 1
            return opens == 1 ? dup(early) : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        })
        defer { close(locked) }
        #expect(opens == 2)
        var lockedStatus = stat(), targetStatus = stat()
        #expect(fstat(locked, &lockedStatus) == 0 && stat(target, &targetStatus) == 0)
        #expect(lockedStatus.st_ino != targetStatus.st_ino)
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "finished")
    }
}
