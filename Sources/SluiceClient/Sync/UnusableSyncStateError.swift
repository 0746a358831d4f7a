/// The sync state file exists but cannot be used: it cannot be read, or it is not a state
/// this sluice can read (truncated or emptied by a crash or a full disk, overwritten, or of an
/// unknown format). Sync stops rather than take every path as never synced, which would
/// undo, without a word, every deletion made on either side since the last sync (and make
/// conflict copies of files edited on one side). The message names the file, whose removal is
/// the user's choice to sync afresh. A not-found failure (exit 3), as an unusable saved cursor
/// of `sluice watch` is: the last synced state is gone.
public struct UnusableSyncStateError: Error, CustomStringConvertible, Sendable {
    public var path: String
    /// Why it cannot be used.
    public var reason: String

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String {
        "the sync state file \(path) cannot be used (\(reason)), so the last synced state of every path is unknown; "
            + "nothing was changed. Move it aside (or delete it) to sync afresh: every file is then compared by "
            + "content, a file on one side only is copied to the other (a deletion since the last sync is undone), "
            + "and files that differ are kept as conflict copies"
    }
}
