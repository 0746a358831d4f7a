/// A pass refused by ``EmptiedSideGuard``: nothing was deleted on either side.
public struct EmptiedSideError: Error, CustomStringConvertible, Sendable {
    public var count: Int
    /// The side found empty, and where the deletions would have happened.
    public var emptied: String
    public var other: String

    public var description: String {
        "\(emptied) holds no files, yet \(count) were synced: this run would delete all of them \(other). "
            + "Nothing was deleted. If the emptying was meant, run again with --allow-delete-all; if not, "
            + "check that the directory (or disk) is the right one, or restore what was removed"
    }
}
