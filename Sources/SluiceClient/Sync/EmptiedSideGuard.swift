/// A safety net of two-way sync: a full pass that finds one side holding no files at all
/// would delete, on the other side, every synced file that side still holds unchanged. That is
/// far more often a side that went away (an unmounted disk, a directory emptied by mistake, a
/// remote folder removed for good with `sluice rm`) than a wish, and on the local side nothing
/// would be left to restore from. Such a pass is refused before it acts unless the user
/// confirms it (`--allow-delete-all`).
///
/// What shows that a side is still there is a synced file on it that is not hidden. Hidden
/// files (a name, or a folder on the path, beginning with a dot) do not count: `rm -rf dir/*`
/// and a file manager's "select all" leave them, and so does the synced `.sluiceignore`
/// itself. Nor do files never synced: a directory removed and made again with one new file
/// in it has lost everything the other side holds just the same.
///
/// What it counts is the deletions the pass would make, not the files the state remembers:
/// the other side may have changed since the last sync (a file deleted there too, or edited,
/// which then comes back rather than going), and a pass that would delete all but those is
/// the same accident.
enum EmptiedSideGuard {
    /// Fewer deletions than this go ahead without a confirmation (deleting the one or two
    /// files of a small folder, or the last files left, is an ordinary change).
    static let minimumFiles = 4

    /// Throws when one side is empty and the plan deletes at least ``minimumFiles`` synced
    /// files on the other. While a watch holds deletions back (`hold`), only a file synced
    /// before the hold, and not brought to its side by a transfer since, shows that side is
    /// still there (``DeletionHold``).
    static func check(
        _ actions: [SyncAction], base: [PathKey: SyncedFile], local: [PathKey: LocalFileState],
        remote: [PathKey: RemoteFile], prefix: String, localRoot: String, hold: DeletionHold? = nil
    ) throws {
        let synced = base.keys.filter { !SyncNames.isMarker($0.string) }.count
        let (deletedLocally, deletedRemotely) = deletions(in: actions)
        func proves(_ path: PathKey, onLocalSide: Bool) -> Bool {
            base[path] != nil && Self.counts(path.string) && (hold?.proves(path, onLocalSide: onLocalSide) ?? true)
        }
        if deletedLocally >= minimumFiles, !remote.keys.contains(where: { proves($0, onLocalSide: false) }) {
            throw EmptiedSideError(
                synced: synced, deletions: deletedLocally, emptied: "the remote prefix '\(prefix)'",
                other: "in \(localRoot)")
        }
        if deletedRemotely >= minimumFiles, !local.keys.contains(where: { proves($0, onLocalSide: true) }) {
            throw EmptiedSideError(
                synced: synced, deletions: deletedRemotely, emptied: "the local directory \(localRoot)",
                other: "under '\(prefix)'")
        }
    }

    /// Whether a synced file left on a side shows that the side is still there: neither a
    /// directory marker nor hidden.
    private static func counts(_ path: String) -> Bool {
        !SyncNames.isMarker(path) && !path.split(separator: "/").contains { $0.hasPrefix(".") }
    }

    /// The files (not directory markers) the plan deletes locally and remotely.
    private static func deletions(in actions: [SyncAction]) -> (locally: Int, remotely: Int) {
        var locally = 0, remotely = 0
        for action in actions where !SyncNames.isMarker(action.path) {
            if case .deleteLocal = action { locally += 1 }
            if case .deleteRemote = action { remotely += 1 }
        }
        return (locally, remotely)
    }
}
