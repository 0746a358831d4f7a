import SluiceProto
import Testing

@testable import SluiceClient

/// A grantee's sync tells a lost grant from deleted files by the grants themselves.
@Suite struct SharedAccessTests {
    private func grant(_ path: String, _ scope: Sluice_V1_GrantScope, _ access: Sluice_V1_Access) -> Sluice_V1_Grant {
        .with {
            $0.path = path
            $0.scope = scope
            $0.access = access
        }
    }

    private let stat = LocalStat(size: 1, modificationTime: 1, inode: 1)

    @Test func accessIsTheBestCoveringGrantComparedAsBytes() {
        let access = SharedAccess(grants: [
            grant("docs/", .prefix, .read), grant("docs/team/", .prefix, .write), grant("one.txt", .object, .write),
        ])
        #expect(access.access(to: "docs/a.txt") == .read)
        #expect(access.access(to: "docs/team/b.txt") == .write)
        #expect(access.access(to: "docsx/a.txt") == nil)
        #expect(access.access(to: "one.txt") == .write)
        #expect(access.access(to: "one.txt2") == nil)
        // Unicode-equivalent spellings are different names to the server.
        let nfc = SharedAccess(grants: [grant("caf\u{e9}/", .prefix, .read)])
        #expect(nfc.access(to: "cafe\u{301}/x") == nil)
    }

    @Test func deletionsOfWhatCanStillBeReadGoAhead() throws {
        let access = SharedAccess(grants: [grant("docs/", .prefix, .read)])
        try access.requireStillShared([.deleteLocal("a.txt", expected: stat)], owner: "alice", prefix: "docs/")
    }

    @Test func actingOnWhatCanNoLongerBeReadIsRefused() {
        let narrowed = SharedAccess(grants: [grant("docs/sub/", .prefix, .write)])
        let actions: [SyncAction] = [
            .deleteLocal("a.txt", expected: stat), .deleteLocal("sub/b.txt", expected: stat),
            .upload("c.txt", local: LocalFileState(stat: stat, sha256: ""), expected: nil),
        ]
        #expect(throws: SharedAccessLostError.self) {
            try narrowed.requireStillShared(actions, owner: "alice", prefix: "docs/")
        }
        do {
            try narrowed.requireStillShared(actions, owner: "alice", prefix: "docs/")
        } catch let error as SharedAccessLostError {
            #expect(error.paths == ["a.txt", "c.txt"])
            #expect(SluiceExitCode(for: error) == .accessLost)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func readingOnlyKeepsLocalChangesAndBringsDeletedFilesBack() {
        let access = SharedAccess(grants: [grant("docs/", .prefix, .read), grant("docs/team/", .prefix, .write)])
        let local = LocalFileState(stat: stat, sha256: "aa")
        let remote = RemoteFile(version: 3, size: 1, sha256: "bb", partitionSize: 1)
        let (actions, kept) = access.readOnlyPlan([
            .upload("mine.txt", local: local, expected: nil),
            .upload("team/ours.txt", local: local, expected: nil),
            .deleteRemote("gone.txt", expected: remote),
            .deleteRemote("team/gone.txt", expected: remote),
            .conflict("both.txt", local: local, remote: remote),
            .download("theirs.txt", remote: remote, replacing: nil),
        ], prefix: "docs/")
        #expect(kept == ["mine.txt": local])
        #expect(actions == [
            .upload("team/ours.txt", local: local, expected: nil),
            .download("gone.txt", remote: remote, replacing: nil),
            .deleteRemote("team/gone.txt", expected: remote),
            .conflict("both.txt", local: local, remote: remote),
            .download("theirs.txt", remote: remote, replacing: nil),
        ])
    }
}
