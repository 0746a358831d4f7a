/// A safety net of two-way sync: a full pass that finds one side holding no files at all while
/// the state remembers several synced ones would delete every one of them on the other side.
/// That is far more often a side that went away (an unmounted disk, a directory emptied by
/// mistake, a remote folder removed for good with `sluice rm`) than a wish, and on the local
/// side nothing would be left to restore from. Such a pass is refused before it acts unless
/// the user confirms it (`--allow-delete-all`).
enum EmptiedSideGuard {
    /// Fewer synced files than this may all go without a confirmation (deleting the one or two
    /// files of a small folder is an ordinary change).
    static let minimumFiles = 4

    /// Throws when the plan deletes every synced file on one side because the other is empty.
    static func check(
        _ actions: [SyncAction], base: [PathKey: SyncedFile], local: [PathKey: LocalFileState],
        remote: [PathKey: RemoteFile], prefix: String, localRoot: String
    ) throws {
        let synced = base.keys.filter { !SyncNames.isMarker($0.string) }.count
        guard synced >= minimumFiles else { return }
        var deletedLocally = 0, deletedRemotely = 0
        for action in actions where !SyncNames.isMarker(action.path) {
            if case .deleteLocal = action { deletedLocally += 1 }
            if case .deleteRemote = action { deletedRemotely += 1 }
        }
        if deletedLocally == synced, !remote.keys.contains(where: { !SyncNames.isMarker($0.string) }) {
            throw EmptiedSideError(count: synced, emptied: "the remote prefix '\(prefix)'", other: "in \(localRoot)")
        }
        if deletedRemotely == synced, !local.keys.contains(where: { !SyncNames.isMarker($0.string) }) {
            throw EmptiedSideError(count: synced, emptied: "the local directory \(localRoot)", other: "under '\(prefix)'")
        }
    }
}
