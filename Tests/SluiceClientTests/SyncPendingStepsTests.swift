import Foundation
import Testing

@testable import SluiceClient

/// What sync saves in its state before a step a kill could lose: the request ids of its
/// PutObjects and the conflict checks of its uploads.
@Suite struct SyncPendingStepsTests {
    private static let fresh = SyncState(server: "h:1", owner: "", remotePrefix: "docs/", localRoot: "/x")

    private static func upload(_ path: String, size: Int64, sha256: String, expected: RemoteFile? = nil) -> SyncAction {
        .upload(path, local: LocalFileState(stat: LocalStat(size: size, modificationTime: 1, inode: 2), sha256: sha256),
                expected: expected)
    }

    @Test func reservesAnIdPerSmallUploadAndKeepsTheOneForUnchangedContent() {
        let v1 = RemoteFile(version: 1, size: 3, sha256: "old", partitionSize: 3)
        let kept = PendingPut(requestID: "killed-run", sha256: "aa", planned: PlannedReplacement(replacing: v1, listingCursor: "c1"))
        let reserved = PendingPut.reserved(
            for: [
                Self.upload("same.txt", size: 3, sha256: "aa", expected: v1),
                Self.upload("new.txt", size: 5, sha256: "bb"),
                Self.upload("big.bin", size: 64 << 20, sha256: "cc"),
                Self.upload("empty/.sluice-dir", size: 0, sha256: SyncNames.emptySHA256),
                .deleteRemote("gone.txt", expected: v1),
            ],
            keeping: ["same.txt": kept], listingCursor: "c2")
        #expect(reserved["same.txt"] == kept)
        #expect(reserved["new.txt"]?.sha256 == "bb" && reserved["new.txt"]?.planned.listingCursor == "c2")
        #expect(reserved["new.txt"]?.planned.version == 0 && reserved["new.txt"]?.planned.sha256 == nil)
        #expect(reserved["empty/.sluice-dir"] != nil)
        // A session upload's CreateSession request id is in the upload journal.
        #expect(reserved["big.bin"] == nil && reserved["gone.txt"] == nil)
    }

    @Test func aChangedFileGetsANewId() {
        let kept = PendingPut(requestID: "killed-run", sha256: "aa", planned: PlannedReplacement(replacing: nil, listingCursor: ""))
        let reserved = PendingPut.reserved(
            for: [Self.upload("a.txt", size: 3, sha256: "changed")], keeping: ["a.txt": kept], listingCursor: "c")
        #expect(reserved["a.txt"]?.requestID != "killed-run")
        #expect(reserved["a.txt"]?.sha256 == "changed")
    }

    @Test func persistWritesAtOnceAndARecordSpendsTheId() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let file = SyncStateFile(path: directory.file("s.json"))
        let box = SyncStateBox(Self.fresh, file: file)
        let put = PendingPut(sha256: "aa", planned: PlannedReplacement(replacing: nil, listingCursor: "c"))
        try box.persist { $0.pendingPuts = ["a.txt": put] }
        #expect(try file.load(fresh: Self.fresh).pendingPuts == ["a.txt": put])

        let synced = SyncedFile(local: LocalStat(size: 2, modificationTime: 1, inode: 2), sha256: "aa", remoteVersion: 3)
        let check = PendingConflictCheck(path: "a.txt", made: 3, ours: "aa", planned: put.planned)
        try box.set("a.txt", synced, pending: check)
        try box.flush()
        let saved = try file.load(fresh: Self.fresh)
        #expect(saved.files["a.txt"] == synced && saved.pendingPuts?["a.txt"] == nil)
        #expect(saved.pendingConflictChecks == [check])
        #expect(check.between == 1..<3)

        try box.finished(check)
        try box.flush()
        #expect(try file.load(fresh: Self.fresh).pendingConflictChecks == nil)
    }

    @Test func anUploadThatReplacedTheVersionBeforeItHasNothingBetween() {
        let planned = PlannedReplacement(replacing: RemoteFile(version: 4, size: 1, sha256: "x", partitionSize: 1), listingCursor: "")
        #expect(PendingConflictCheck(path: "a", made: 5, ours: "y", planned: planned).between.isEmpty)
        #expect(PendingConflictCheck(path: "a", made: 3, ours: "y", planned: planned).between.isEmpty)
    }
}
