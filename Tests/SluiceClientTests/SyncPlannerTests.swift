import Foundation
import Testing

@testable import SluiceClient

/// The three-way decisions of `sluice sync`, one path at a time.
@Suite struct SyncPlannerTests {
    static let stat1 = LocalStat(size: 3, modificationTime: 1, inode: 7)
    static let stat2 = LocalStat(size: 4, modificationTime: 2, inode: 7)

    static func local(_ sha: String, _ stat: LocalStat = stat1) -> LocalFileState { LocalFileState(stat: stat, sha256: sha) }
    static func remote(_ sha: String, version: Int64 = 1) -> RemoteFile {
        RemoteFile(version: version, size: 3, sha256: sha, partitionSize: 8 << 20)
    }
    static func base(_ sha: String, version: Int64 = 1) -> SyncedFile {
        SyncedFile(local: stat1, sha256: sha, remoteVersion: version)
    }

    static func plan(_ local: LocalFileState?, _ remote: RemoteFile?, _ base: SyncedFile?, same: Bool? = nil) -> [SyncAction] {
        SyncPlanner.plan(
            local: local.map { ["f": $0] } ?? [:], remote: remote.map { ["f": $0] } ?? [:],
            base: base.map { ["f": $0] } ?? [:], sameContent: same.map { ["f": $0] } ?? [:])
    }

    @Test func sameContentOnBothSidesMovesNothing() {
        #expect(Self.plan(Self.local("a"), Self.remote("a"), Self.base("a")) == [])
        // Without a base (two directories that already hold the same files): only remembered.
        #expect(Self.plan(Self.local("a"), Self.remote("a"), nil)
            == [.record("f", SyncedFile(local: Self.stat1, sha256: "a", remoteVersion: 1))])
    }

    @Test func newFilesGoAcross() {
        #expect(Self.plan(Self.local("a"), nil, nil) == [.upload("f", local: Self.local("a"), expected: nil)])
        #expect(Self.plan(nil, Self.remote("a"), nil) == [.download("f", remote: Self.remote("a"), replacing: nil)])
    }

    @Test func aChangeOnOneSideGoesToTheOther() {
        let changedLocal = Self.local("b", Self.stat2)
        #expect(Self.plan(changedLocal, Self.remote("a"), Self.base("a"))
            == [.upload("f", local: changedLocal, expected: Self.remote("a"))])
        let changedRemote = Self.remote("b", version: 2)
        #expect(Self.plan(Self.local("a"), changedRemote, Self.base("a"))
            == [.download("f", remote: changedRemote, replacing: Self.stat1)])
    }

    @Test func changesOnBothSidesConflict() {
        let local = Self.local("b", Self.stat2), remote = Self.remote("c", version: 2)
        #expect(Self.plan(local, remote, Self.base("a")) == [.conflict("f", local: local, remote: remote)])
        // Created on both sides differently, never synced: a conflict too.
        #expect(Self.plan(Self.local("b"), Self.remote("c"), nil)
            == [.conflict("f", local: Self.local("b"), remote: Self.remote("c"))])
    }

    @Test func deletionsGoBothWays() {
        #expect(Self.plan(Self.local("a"), nil, Self.base("a")) == [.deleteLocal("f", expected: Self.stat1)])
        #expect(Self.plan(nil, Self.remote("a"), Self.base("a")) == [.deleteRemote("f", expected: Self.remote("a"))])
        #expect(Self.plan(nil, nil, Self.base("a")) == [.forget("f")])
    }

    @Test func anEditBeatsADeletionSoNothingIsLost() {
        let edited = Self.local("b", Self.stat2)
        #expect(Self.plan(edited, nil, Self.base("a")) == [.upload("f", local: edited, expected: nil)])
        let remoteEdit = Self.remote("b", version: 2)
        #expect(Self.plan(nil, remoteEdit, Self.base("a")) == [.download("f", remote: remoteEdit, replacing: nil)])
    }

    @Test func anEmptyRemoteHashIsComparedByPartitions() {
        let unknown = Self.remote("", version: 2)
        #expect(Self.plan(Self.local("a"), unknown, nil, same: true)
            == [.record("f", SyncedFile(local: Self.stat1, sha256: "a", remoteVersion: 2))])
        #expect(Self.plan(Self.local("a"), unknown, nil, same: false)
            == [.conflict("f", local: Self.local("a"), remote: unknown)])
        // The base's version: not changed remotely; a local change goes up.
        let edited = Self.local("b", Self.stat2)
        #expect(Self.plan(edited, Self.remote("", version: 1), Self.base("a"), same: false)
            == [.upload("f", local: edited, expected: Self.remote("", version: 1))])
        // A newer version whose hash is unknown yet: a remote change.
        #expect(Self.plan(Self.local("a"), unknown, Self.base("a"), same: false)
            == [.download("f", remote: unknown, replacing: Self.stat1)])
    }

    @Test func conflictNamesSayWhoAndWhen() {
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(SyncNames.conflictName(for: "docs/report.txt", device: "laptop", at: date)
            == "docs/report (conflict from laptop 2023-11-14 221320).txt")
        #expect(SyncNames.conflictName(for: ".bashrc", device: "a/b", at: date)
            == ".bashrc (conflict from a-b 2023-11-14 221320)")
        #expect(SyncNames.conflictName(for: "archive.tar.gz", device: "pc", at: date)
            == "archive.tar (conflict from pc 2023-11-14 221320).gz")
        // Another copy within the same second gets a name of its own.
        #expect(SyncNames.conflictName(for: "docs/report.txt", device: "laptop", at: date, number: 2)
            == "docs/report (conflict from laptop 2023-11-14 221320 2).txt")
    }

    @Test func leftoversNameTheDownloadTemporaryTheyBelongTo() {
        let m = "0123456789ab"
        #expect(SyncNames.downloadTemporary(for: "a/x.txt", marker: m) == "a/.x.txt.\(m).sluice-download")
        #expect(SyncNames.downloadTemporary(ofLeftover: "a/.x.txt.\(m).sluice-download", marker: m) == "a/.x.txt.\(m).sluice-download")
        #expect(SyncNames.downloadTemporary(ofLeftover: "a/..x.txt.\(m).sluice-download.sluice-part", marker: m)
            == "a/.x.txt.\(m).sluice-download")
        #expect(SyncNames.downloadTemporary(ofLeftover: "..x.txt.\(m).sluice-download.sluice-part.json", marker: m)
            == ".x.txt.\(m).sluice-download")
        #expect(SyncNames.downloadTemporary(ofLeftover: "...x.txt.\(m).sluice-download.sluice-part.json.tmp", marker: m)
            == ".x.txt.\(m).sluice-download")
        #expect(SyncNames.downloadTemporary(ofLeftover: "...bashrc.\(m).sluice-download.sluice-part", marker: m)
            == "..bashrc.\(m).sluice-download")
        // Partial files of `sluice download` into the folder are not sync's.
        #expect(SyncNames.downloadTemporary(ofLeftover: ".x.txt.sluice-part", marker: m) == nil)
        #expect(SyncNames.downloadTemporary(ofLeftover: ".\(m).sluice-download", marker: m) == nil)
        // Nor are look-alikes without this pairing's marker: another's, or a user's.
        #expect(SyncNames.downloadTemporary(ofLeftover: ".x.txt.sluice-download", marker: m) == nil)
        #expect(SyncNames.downloadTemporary(ofLeftover: ".x.txt.ba9876543210.sluice-download", marker: m) == nil)
        #expect(SyncNames.downloadTemporary(ofLeftover: "..x.txt.sluice-download.sluice-part.json", marker: m) == nil)
        #expect(SyncNames.downloadTemporary(ofLeftover: ".x.txt.\(m).sluice-download", marker: nil) == nil)
        // Every one of them is a name the scan never syncs.
        for path in ["a/.x.sluice-download", "..x.sluice-download.sluice-part", "..x.sluice-download.sluice-part.json",
                     "...x.sluice-download.sluice-part.json.tmp"] {
            #expect(SyncNames.isTemporary(SyncNames.lastComponent(of: path)))
        }
        let fresh = SyncNames.newTemporaryMarker()
        #expect(fresh.utf8.count == 12 && fresh != SyncNames.newTemporaryMarker())
    }

    /// Derived names of a name as long as a file name may be still fit in one, and stay apart.
    @Test func namesDerivedFromALongNameFitAFileName() {
        let long = String(repeating: "\u{e9}", count: 127) + ".txt"
        let marker = "0123456789ab"
        let temporary = SyncNames.downloadTemporary(for: "d/" + long, marker: marker)
        let partial = PartialFileName.partial(for: SyncNames.lastComponent(of: temporary))
        #expect(AtomicWrite.temporaryName(for: partial + PartialFileName.sidecarSuffix).utf8.count <= 255)
        #expect(SyncNames.downloadTemporary(ofLeftover: "d/" + partial, marker: marker) == temporary)
        #expect(temporary != SyncNames.downloadTemporary(for: "d/" + long + "2", marker: marker))
        let date = Date(timeIntervalSince1970: 1_700_000_000)
        let copy = SyncNames.lastComponent(of: SyncNames.conflictName(for: "d/" + long, device: "laptop", at: date))
        #expect(copy.utf8.count <= 255)
        #expect(copy.hasSuffix(" (conflict from laptop 2023-11-14 221320).txt"))
        #expect(PartialFileName.partial(for: "short") == ".short.sluice-part")
    }

    @Test func remoteNamesThatCannotBeLocalFilesAreRefused() {
        #expect(SyncNames.problem(withRemotePath: "a/b.txt") == nil)
        #expect(SyncNames.problem(withRemotePath: "a//b") != nil)
        #expect(SyncNames.problem(withRemotePath: "../etc/passwd") != nil)
        #expect(SyncNames.problem(withRemotePath: "a/./b") != nil)
        #expect(SyncNames.problem(withRemotePath: "a/.b.sluice-download") != nil)
        #expect(SyncNames.problem(withRemotePath: ".sluice-dir") != nil)
        #expect(SyncNames.problem(withRemotePath: "a/.sluice-dir") == nil)
        #expect(SyncNames.directory(ofMarker: "a/b/.sluice-dir") == "a/b")
        #expect(SyncNames.isMarker("a/.sluice-dir") && !SyncNames.isMarker("a/x.sluice-dir"))
    }
}
