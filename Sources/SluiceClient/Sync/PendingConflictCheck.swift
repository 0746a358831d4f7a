/// A version an upload of this device made that may have overtaken another device's commit:
/// saved in the state together with the record of the upload, and removed once the
/// overtaken version is kept as a conflict copy (or found to need none). A sync killed in
/// between finishes it on its next run; without it the state would say the path is in step
/// and the other device's edit would stay only as an old version on the server.
public struct PendingConflictCheck: Codable, Sendable, Equatable {
    /// The path (relative) the upload went to; the copy goes beside it.
    public var path: String
    /// The version the upload made.
    public var made: Int64
    /// Hex SHA-256 of what the upload sent: a version holding the same is no conflict.
    public var ours: String
    public var planned: PlannedReplacement

    public init(path: String, made: Int64, ours: String, planned: PlannedReplacement) {
        self.path = path
        self.made = made
        self.ours = ours
        self.planned = planned
    }

    /// The versions committed between the one the upload replaced and its own.
    var between: Range<Int64> { planned.version + 1..<max(planned.version + 1, made) }
}
