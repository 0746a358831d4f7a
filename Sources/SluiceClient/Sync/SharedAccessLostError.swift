/// The owner of a synced folder no longer shares (some of) it with the caller: its grant was
/// revoked or narrowed (or a local file lies where no grant ever reached). The paths are not deleted locally: they vanished from the listing
/// because access went, not because they were deleted.
public struct SharedAccessLostError: Error, CustomStringConvertible, Sendable {
    public var owner: String
    public var prefix: String
    /// Relative paths the caller can no longer read.
    public var paths: [String]

    public var description: String {
        let count = paths.count == 1 ? "1 path" : "\(paths.count) paths"
        let example = paths.first.map { " (e.g. '\($0)')" } ?? ""
        return "'\(owner)' does not share \(count) under '\(prefix)' with you any more\(example): the grant was "
            + "revoked or narrowed (or never covered it). Nothing was deleted or changed locally; your copies stay. "
            + "Ask '\(owner)' to share the folder again (`sluice shares` lists what is shared with you), or sync "
            + "only what is still shared"
    }
}
