import Foundation
import Testing

@testable import SluiceClient

/// The sync state file: saved and loaded whole, used only for its own pairing, locked by one sync.
@Suite struct SyncStateFileTests {
    @Test func roundTripsAndIgnoresAnotherPairing() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = SyncStateFile(path: directory.file("state/s.json"))
        var state = SyncState(server: "h:1", owner: "", remotePrefix: "docs/", localRoot: "/x")
        state.cursor = "c1.9"
        state.files["a.txt"] = SyncedFile(
            local: LocalStat(size: 1, modificationTime: 2, inode: 3), sha256: "ab", remoteVersion: 4)
        try file.save(state)
        #expect(try file.load(fresh: SyncState(server: "h:1", owner: "", remotePrefix: "docs/", localRoot: "/x")) == state)
        let other = SyncState(server: "h:1", owner: "", remotePrefix: "other/", localRoot: "/x")
        #expect(try file.load(fresh: other) == other)
    }

    /// A bare file name (`--state-file st.json`, `--cursor-file w.cursor`) is a file in the
    /// working directory; its empty parent was once made as a directory, and failed.
    @Test func aBareFileNameIsTakenFromTheWorkingDirectory() {
        let working = FileManager.default.currentDirectoryPath
        #expect(SyncStateFile(path: "st.json").path == working + "/st.json")
        #expect(WatchCursorFile(path: "w.cursor").path == working + "/w.cursor")
        #expect(WatchCursorFile(path: "/abs/w.cursor").path == "/abs/w.cursor")
    }

    /// Names that differ only in Unicode normalization are two paths, in memory and on disk.
    @Test func keepsPathsThatDifferOnlyInNormalizationApart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = SyncStateFile(path: directory.file("s.json"))
        var state = SyncState(server: "h:1", owner: "", remotePrefix: "docs/", localRoot: "/x")
        let stat = LocalStat(size: 1, modificationTime: 2, inode: 3)
        state.files[PathKey("caf\u{e9}")] = SyncedFile(local: stat, sha256: "aa", remoteVersion: 1)
        state.files[PathKey("cafe\u{301}")] = SyncedFile(local: stat, sha256: "bb", remoteVersion: 2)
        #expect(state.files.count == 2)
        try file.save(state)
        let loaded = try file.load(fresh: SyncState(server: "h:1", owner: "", remotePrefix: "docs/", localRoot: "/x"))
        #expect(loaded.files.count == 2)
        #expect(loaded.files[PathKey("cafe\u{301}")]?.sha256 == "bb")
    }

    /// A state file that exists but cannot be used stops the sync rather than start afresh.
    @Test func anUnusableStateFileIsAnErrorNamingIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = SyncStateFile(path: directory.file("s.json"))
        let fresh = SyncState(server: "h:1", owner: "", remotePrefix: "docs/", localRoot: "/x")
        #expect(try file.load(fresh: fresh) == fresh)
        try file.save(fresh)
        let whole = try Data(contentsOf: URL(fileURLWithPath: file.path))
        let newer = String(decoding: whole, as: UTF8.self).replacingOccurrences(of: "\"format\":2", with: "\"format\":99")
        // Without its files the state would read as "nothing synced yet", and bring deletions back.
        var object = try #require(try JSONSerialization.jsonObject(with: whole) as? [String: Any])
        #expect(object.removeValue(forKey: "files") != nil)
        let withoutFiles = try JSONSerialization.data(withJSONObject: object)
        for damaged in [whole.prefix(whole.count / 2), Data(), Data("garbage".utf8), Data(newer.utf8), withoutFiles] {
            try damaged.write(to: URL(fileURLWithPath: file.path))
            #expect(throws: UnusableSyncStateError.self) { try file.load(fresh: fresh) }
        }
        #expect(FailureKind(UnusableSyncStateError(path: file.path, reason: "x")) == .notFound)
    }

    @Test func standardFilesDifferPerPairing() {
        let environment = ["SLUICE_STATE_DIR": "/state"]
        let one = SyncStateFile.standard(server: "h:1", owner: "", remotePrefix: "a/", localRoot: "/x", environment: environment)
        let two = SyncStateFile.standard(server: "h:1", owner: "", remotePrefix: "a/", localRoot: "/y", environment: environment)
        #expect(one.path.hasPrefix("/state/sync/") && one.path.hasSuffix(".json"))
        #expect(one.path != two.path)
    }

    /// A state file written before newer fields existed still loads: its synced files are kept.
    @Test func readsAnOlderStateFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = SyncStateFile(path: directory.file("old.json"))
        let old = """
            {"cursor":"c1.9","format":1,"localRoot":"/x","owner":"","remotePrefix":"docs/","server":"h:1",
            "files":{"a.txt":{"local":{"inode":3,"modificationTime":2,"size":1},"remoteVersion":4,"sha256":"ab"}}}
            """
        try Data(old.utf8).write(to: URL(fileURLWithPath: file.path))
        let loaded = try file.load(fresh: SyncState(server: "h:1", owner: "", remotePrefix: "docs/", localRoot: "/x"))
        #expect(loaded.cursor == "c1.9")
        #expect(loaded.files["a.txt"]?.remoteVersion == 4)
        #expect(loaded.pendingPuts == nil && loaded.pendingConflictChecks == nil)
        #expect(loaded.keptLocally == nil)
        // Recorded without a change time, the stat differs from any fresh one: hashed once more.
        #expect(loaded.files["a.txt"]?.local.changeTime == nil)
        #expect(loaded.files["a.txt"]?.local != LocalStat(size: 1, modificationTime: 2, inode: 3, changeTime: 5))
    }
}
