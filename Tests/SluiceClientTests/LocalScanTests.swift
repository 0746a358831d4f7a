import Foundation
import Testing

@testable import SluiceClient

/// What the sync scanner takes from a directory, and what it leaves with a note.
@Suite struct LocalScanTests {
    @Test func filesEmptyDirectoriesAndSkipsWithReasons() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.path
        let manager = FileManager.default
        try manager.createDirectory(atPath: root + "/a/b", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/empty/inner", withIntermediateDirectories: true)
        try manager.createDirectory(atPath: root + "/cache", withIntermediateDirectories: true)
        _ = try directory.write(Array("x".utf8), to: "a/b/file.txt")
        _ = try directory.write(Array("o".utf8), to: "a/main.o")
        _ = try directory.write(Array("c".utf8), to: "cache/c")
        _ = try directory.write([], to: "a/.sluice-dir")
        _ = try directory.write(Array("p".utf8), to: "a/.file.txt.sluice-part")
        _ = try directory.write(Array("d".utf8), to: "a/.file.txt.0123456789ab.sluice-download")
        _ = try directory.write(Array("*.o\ncache/\n".utf8), to: ".sluiceignore")
        try manager.createSymbolicLink(atPath: root + "/link", withDestinationPath: "a")
        #expect(mkfifo(root + "/pipe", 0o600) == 0)

        let scan = try LocalScan.scan(root: root, rules: IgnoreRules(text: "*.o\ncache/\n"), remotePrefix: "p/", temporaryMarker: "0123456789ab")
        #expect(Set(scan.files.keys) == [".sluiceignore", "a/b/file.txt", "empty/inner/.sluice-dir"])
        #expect(scan.files["empty/inner/.sluice-dir"] == .marker)
        #expect(Set(scan.directories) == ["", "a", "a/b", "empty", "empty/inner"])
        let reasons = Dictionary(uniqueKeysWithValues: scan.skipped.map { ($0.path, $0.reason) })
        #expect(reasons.keys.sorted() == ["a/.file.txt.sluice-part", "a/.sluice-dir", "link", "pipe"])
        #expect(reasons["a/.file.txt.sluice-part"]?.contains("not one this sync made") == true)
        #expect(scan.downloadTemporaries == ["a/.file.txt.0123456789ab.sluice-download"])
        #expect(reasons["link"]?.contains("symbolic link") == true)
        #expect(reasons["pipe"]?.contains("not a regular file") == true)
        #expect(reasons["a/.sluice-dir"]?.contains("reserved") == true)
    }

    @Test func aScopeIsNotLookedAtThroughALink() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let root = directory.file("root")
        let manager = FileManager.default
        try manager.createDirectory(atPath: root, withIntermediateDirectories: true)
        try manager.createDirectory(atPath: directory.file("outside/sub"), withIntermediateDirectories: true)
        _ = try directory.write(Array("secret".utf8), to: "outside/planted.sh")
        _ = try directory.write(Array("secret".utf8), to: "outside/sub/x")
        try manager.createSymbolicLink(atPath: root + "/link", withDestinationPath: directory.file("outside"))

        let scope = ScopedPaths(["link/planted.sh", "link/sub/x", "link/sub/y"])
        let scan = try LocalScan.scan(root: root, within: scope, rules: .none, remotePrefix: "p/", temporaryMarker: nil)
        #expect(scan.files.isEmpty)
        #expect(scan.skipped.map(\.path) == ["link"])
        #expect(scan.skipped.first?.reason.contains("symbolic link") == true)
    }

    @Test func aMissingDirectoryIsNotFoundAndAFileIsAUsageError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        #expect(throws: LocalFileError.self) {
            try LocalScan.scan(root: directory.file("nope"), rules: .none, remotePrefix: "", temporaryMarker: nil)
        }
        let file = try directory.write([1], to: "f")
        #expect(throws: UsageError.self) { try LocalScan.scan(root: file, rules: .none, remotePrefix: "", temporaryMarker: nil) }
    }

    @Test func eventsReadAsLinesAndJSON() {
        let upload = SyncEvent(kind: .upload, path: "a b.txt", bytes: 2048)
        #expect(upload.text == "upload a b.txt (2.0 KiB sent)")
        #expect(upload.json == #"{"bytes":2048,"event":"upload","path":"a b.txt"}"#)
        #expect(SyncEvent(kind: .deleteRemote, path: "x", dryRun: true).text == "would delete remote x")
        #expect(SyncEvent(kind: .skip, path: "l", detail: "symbolic link, not followed").json
            == #"{"detail":"symbolic link, not followed","event":"skip","path":"l"}"#)
    }

    /// A line is escaped for a terminal once: a path or detail from others through
    /// TerminalText, a path that is escaped bytes already (a name that is not UTF-8) as it is.
    @Test func eventLinesEscapeEachPartOnce() {
        #expect(SyncEvent(kind: .upload, path: "a\\b\u{1B}", detail: "x\ny").text == "upload a\\\\b\\x1b: x\\ny")
        let notUTF8 = SyncEvent(
            kind: .skip, path: TerminalText.escaped(bytes: Array("dir\\/bad".utf8) + [0xFF]),
            detail: "not valid UTF-8", pathIsEscaped: true)
        #expect(notUTF8.text == "skip dir\\\\/bad\\xff: not valid UTF-8")
        #expect(notUTF8.json == #"{"detail":"not valid UTF-8","event":"skip","path":"dir\\\\/bad\\xff"}"#)
    }
}
