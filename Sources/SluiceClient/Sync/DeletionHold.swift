/// What a sync keeps while a watch holds deletions back, saved with its state: the paths synced
/// when deletions were first held, and those a transfer has brought to either side since. Rounds
/// go on syncing meanwhile, and what they bring proves nothing to ``EmptiedSideGuard``: a folder
/// emptied by mistake and then given one new file, or one file edited on the other side and
/// downloaded again, has still lost everything else. Kept in the state file, so that a watch
/// started again, or a one-shot sync after it, judges the same way until a pass that may delete
/// has run.
public struct DeletionHold: Codable, Sendable, Equatable {
    /// The paths synced when deletions were first held back.
    public var synced: Set<PathKey>
    /// Paths a download has brought to the local side since.
    public var downloaded: Set<PathKey> = []
    /// Paths an upload has brought to the remote side since.
    public var uploaded: Set<PathKey> = []

    public init(synced: Set<PathKey>) {
        self.synced = synced
    }

    /// Whether `path`, synced and present on the local side (or the remote one), shows that
    /// side is still there: it was synced before the hold, and no transfer brought it there since.
    func proves(_ path: PathKey, onLocalSide: Bool) -> Bool {
        synced.contains(path) && !(onLocalSide ? downloaded : uploaded).contains(path)
    }
}
