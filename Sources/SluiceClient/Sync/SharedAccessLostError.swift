/// The owner of a synced folder no longer shares (some of) it with the caller: its grant was
/// revoked or narrowed. The paths are not deleted locally: they vanished from the listing
/// because access went, not because they were deleted.
public struct SharedAccessLostError: Error, CustomStringConvertible, Sendable {
    public var owner: String
    public var prefix: String
    /// Relative paths the caller can no longer read.
    public var paths: [String]

    public var description: String {
        let count = paths.count == 1 ? "1 synced path" : "\(paths.count) synced paths"
        let example = paths.first.map { " (e.g. '\($0)')" } ?? ""
        return "'\(owner)' no longer shares \(count) under '\(prefix)' with you\(example): the grant was revoked "
            + "or narrowed. Nothing was deleted or changed locally; your copies stay. Ask '\(owner)' to share "
            + "the folder again (`sluice shares` lists what is shared with you), or sync it into another "
            + "directory or with another state file"
    }
}
