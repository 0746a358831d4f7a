/// A pass refused by ``EmptiedSideGuard``: nothing was deleted on either side.
public struct EmptiedSideError: Error, CustomStringConvertible, Sendable {
    /// The files the last sync left in step, and those of them this pass would have deleted.
    public var synced: Int
    public var deletions: Int
    /// The side found empty, and where the deletions would have happened.
    public var emptied: String
    public var other: String

    public var description: String {
        let which = deletions == synced ? "all of them" : "the \(deletions) of them still there"
        return "\(emptied) holds none of the \(synced) files synced before (hidden ones aside): this run would "
            + "delete \(which) \(other). "
            + "Nothing was deleted. If the emptying was meant, run again with --allow-delete-all; if not, "
            + "check that the directory (or disk) is the right one, or restore what was removed"
    }
}
