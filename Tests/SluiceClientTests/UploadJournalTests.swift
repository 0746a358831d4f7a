import Foundation
import Testing

@testable import SluiceClient

/// The journal of unfinished uploads: keyed, atomic, tolerant of damage.
@Suite struct UploadJournalTests {
    static func entry(
        server: String = "h:1", path: String = "/data/a.bin", name: String = "a.bin"
    ) -> UploadJournalEntry {
        UploadJournalEntry(
            server: server, path: path, objectName: name, size: 10, modificationTime: 1_700_000_000_123_456_789,
            partitionSize: 4, partitionSHA256: ["aa", "bb", "cc"], objectSHA256: "dd",
            sessionID: "0123456789abcdef0123456789abcdef")
    }

    @Test func savesFindsAndRemoves() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let journal = UploadJournal(directory: directory.file("journal"))
        let entry = Self.entry()
        #expect(journal.entry(server: "h:1", path: "/data/a.bin", objectName: "a.bin") == nil)
        try journal.save(entry)
        #expect(journal.entry(server: "h:1", path: "/data/a.bin", objectName: "a.bin") == entry)
        journal.remove(server: "h:1", path: "/data/a.bin", objectName: "a.bin")
        #expect(journal.entry(server: "h:1", path: "/data/a.bin", objectName: "a.bin") == nil)
    }

    @Test func keyedByServerPathAndName() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let journal = UploadJournal(directory: directory.path)
        try journal.save(Self.entry())
        #expect(journal.entry(server: "h:2", path: "/data/a.bin", objectName: "a.bin") == nil)
        #expect(journal.entry(server: "h:1", path: "/data/b.bin", objectName: "a.bin") == nil)
        #expect(journal.entry(server: "h:1", path: "/data/a.bin", objectName: "b.bin") == nil)
        try journal.save(Self.entry(name: "b.bin"))
        #expect(directory.contents().count == 2)
    }

    @Test func replacingLeavesNoTemporaryFiles() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let journal = UploadJournal(directory: directory.path)
        var entry = Self.entry()
        try journal.save(entry)
        entry.sessionID = "ffffffffffffffffffffffffffffffff"
        try journal.save(entry)
        #expect(directory.contents().count == 1)
        #expect(directory.contents().allSatisfy { $0.hasSuffix(".json") && !$0.hasPrefix(".") })
        #expect(journal.entry(server: "h:1", path: "/data/a.bin", objectName: "a.bin")?.sessionID == entry.sessionID)
    }

    @Test func aDamagedEntryIsIgnored() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let journal = UploadJournal(directory: directory.path)
        let file = journal.file(server: "h:1", path: "/data/a.bin", objectName: "a.bin")
        try Data("{\"server\": tru".utf8).write(to: URL(fileURLWithPath: file))
        #expect(journal.entry(server: "h:1", path: "/data/a.bin", objectName: "a.bin") == nil)
    }

    /// An entry written by a client that hashed files whole still describes the same file as
    /// one that did not (the partition hashes decide), so its upload resumes; two different
    /// whole hashes still differ, and so do different partition hashes.
    @Test func theWholeHashCountsOnlyWhenBothHaveIt() {
        let older = Self.entry()
        var newer = older
        newer.objectSHA256 = ""
        #expect(newer.describesSameFile(as: older) && older.describesSameFile(as: newer))
        var other = older
        other.objectSHA256 = "ee"
        #expect(!other.describesSameFile(as: older))
        var changed = newer
        changed.partitionSHA256[1] = "ff"
        #expect(!changed.describesSameFile(as: older) && !changed.describesSameFile(as: newer))
    }

    @Test func defaultDirectory() {
        let all = ["SLUICE_STATE_DIR": "/s", "XDG_STATE_HOME": "/x", "HOME": "/h"]
        #expect(UploadJournal.defaultDirectory(environment: all) == "/s/journal")
        let xdg = ["XDG_STATE_HOME": "/x", "HOME": "/h"]
        #expect(UploadJournal.defaultDirectory(environment: xdg) == "/x/sluice/journal")
        #expect(UploadJournal.defaultDirectory(environment: ["HOME": "/h"]) == "/h/.local/state/sluice/journal")
    }
}
