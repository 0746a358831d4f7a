import Testing

@testable import SluiceClient

/// A pass that would delete every synced file because one side is empty needs a confirmation.
@Suite struct EmptiedSideGuardTests {
    private let stat = LocalStat(size: 1, modificationTime: 1, inode: 1)
    private let remote = RemoteFile(version: 1, size: 1, sha256: "aa", partitionSize: 1)

    private func base(_ count: Int) -> [PathKey: SyncedFile] {
        Dictionary(uniqueKeysWithValues: (0..<count).map {
            (PathKey("f\($0)"), SyncedFile(local: stat, sha256: "aa", remoteVersion: 1))
        })
    }

    private func check(
        _ actions: [SyncAction], base: [PathKey: SyncedFile], local: [PathKey: LocalFileState] = [:],
        remote: [PathKey: RemoteFile] = [:], hold: DeletionHold? = nil
    ) throws {
        try EmptiedSideGuard.check(
            actions, base: base, local: local, remote: remote, prefix: "p/", localRoot: "/d", hold: hold)
    }

    @Test func whatRoundsBroughtWhileDeletionsWaitedProvesNothing() throws {
        // f0..f5 synced when a watch began holding deletions back; the local folder was emptied.
        let hold = DeletionHold(synced: Set(base(6).keys))
        let present = LocalFileState(stat: stat, sha256: "aa")
        var grown = base(6)
        grown["new"] = SyncedFile(local: stat, sha256: "aa", remoteVersion: 1)
        let deletions = (0..<6).map { SyncAction.deleteRemote("f\($0)", expected: remote) }
        // A new file a round uploaded meanwhile.
        #expect(throws: EmptiedSideError.self) {
            try check(deletions, base: grown, local: ["new": present], hold: hold)
        }
        // One file a round downloaded again (edited on the other side).
        var downloaded = hold
        downloaded.downloaded = ["f0"]
        #expect(throws: EmptiedSideError.self) {
            try check(Array(deletions.dropFirst()), base: base(6), local: ["f0": present], hold: downloaded)
        }
        // A file rewritten on this side, and uploaded meanwhile, still shows this side is there.
        var uploaded = hold
        uploaded.uploaded = ["f5"]
        try check(Array(deletions.prefix(4)), base: base(6), local: ["f5": present], hold: uploaded)
    }

    @Test func anEmptyRemoteDoesNotEmptyTheDirectory() {
        let deletions = base(4).keys.map { SyncAction.deleteLocal($0.string, expected: stat) }
        #expect(throws: EmptiedSideError.self) { try check(deletions, base: base(4)) }
        // A marker left behind does not count as a file.
        let marker: [PathKey: RemoteFile] = ["d/.sluice-dir": remote]
        #expect(throws: EmptiedSideError.self) { try check(deletions, base: base(4), remote: marker) }
    }

    @Test func anEmptyDirectoryDoesNotEmptyTheRemote() {
        let deletions = base(5).keys.map { SyncAction.deleteRemote($0.string, expected: remote) }
        #expect(throws: EmptiedSideError.self) { try check(deletions, base: base(5)) }
    }

    @Test func anEmptyDirectoryDoesNotEmptyTheRemoteAfterTheRemoteChanged() {
        // Since the last sync another device deleted f0 (gone on both sides now, so not
        // planned), or edited it (it comes back instead of going): the pass would still delete
        // every other synced file, which the emptied side cannot vouch for.
        let others = base(6).keys.filter { $0 != "f0" }.map { SyncAction.deleteRemote($0.string, expected: remote) }
        #expect(throws: EmptiedSideError.self) { try check(others, base: base(6)) }
        let edited: [PathKey: RemoteFile] = ["f0": RemoteFile(version: 2, size: 1, sha256: "bb", partitionSize: 1)]
        #expect(throws: EmptiedSideError.self) { try check(others, base: base(6), remote: edited) }
        let error = #expect(throws: EmptiedSideError.self) { try check(others, base: base(6)) }
        #expect(error?.description.contains("would delete the 5 of them still there under 'p/'") == true)
    }

    @Test func hiddenFilesLeftBehindDoNotMakeASideHoldSomething() {
        // `rm -rf dir/*` leaves the synced .sluiceignore and dotfiles such as .DS_Store.
        let deletions = base(6).keys.map { SyncAction.deleteRemote($0.string, expected: remote) }
        let local: [PathKey: LocalFileState] = [
            ".sluiceignore": LocalFileState(stat: stat, sha256: "aa"), ".git/HEAD": LocalFileState(stat: stat, sha256: "aa"),
        ]
        #expect(throws: EmptiedSideError.self) { try check(deletions, base: base(6), local: local) }
        let remaining: [PathKey: RemoteFile] = [".DS_Store": remote, "d/.sluice-dir": remote]
        #expect(throws: EmptiedSideError.self) {
            try check(base(6).keys.map { .deleteLocal($0.string, expected: stat) }, base: base(6), remote: remaining)
        }
    }

    @Test func aSideHoldingOnlyFilesNeverSyncedCountsAsEmptied() {
        // Removed and made again, with one new file in it: everything synced is gone.
        let deletions = base(8).keys.map { SyncAction.deleteRemote($0.string, expected: remote) }
        let fresh: [PathKey: LocalFileState] = ["new.txt": LocalFileState(stat: stat, sha256: "bb")]
        #expect(throws: EmptiedSideError.self) { try check(deletions, base: base(8), local: fresh) }
    }

    @Test func ordinaryDeletionsGoAhead() throws {
        // Few files, or not all of them, or the emptied side still holds a new file.
        try check(base(3).keys.map { .deleteLocal($0.string, expected: stat) }, base: base(3))
        try check(["f0", "f1", "f2"].map { .deleteLocal($0, expected: stat) }, base: base(4))
        try check(
            base(4).keys.map { .deleteLocal($0.string, expected: stat) }, base: base(4), remote: ["f0": remote])
        // The last few files of a folder that once held many, deleted on one side, go.
        try check(["f0", "f1", "f2"].map { .deleteRemote($0, expected: remote) }, base: base(100))
    }
}
