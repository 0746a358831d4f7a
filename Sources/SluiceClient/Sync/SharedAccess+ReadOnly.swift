/// A folder (or part of one) shared for reading only syncs one way: the owner's changes come
/// down, this device's changes stay on this device. Without this, every local edit would be an
/// upload the server refuses on every run, and the owner's newer version would never arrive.
extension SharedAccess {
    /// The plan with what reading only allows: a local change or a new local file is kept here
    /// (returned as `kept`, not uploaded); a local deletion brings the owner's file back; a
    /// conflict still keeps this device's version as a conflict copy (which the executor does
    /// not upload) and downloads the owner's.
    public func readOnlyPlan(_ actions: [SyncAction], prefix: String)
        -> (actions: [SyncAction], kept: [PathKey: LocalFileState])
    {
        var planned: [SyncAction] = []
        var kept: [PathKey: LocalFileState] = [:]
        for action in actions {
            switch action {
            case .upload(let path, let local, _) where !writes(prefix + path):
                kept[PathKey(path)] = local
            case .deleteRemote(let path, let expected) where !writes(prefix + path):
                planned.append(.download(path, remote: expected, replacing: nil))
            default:
                planned.append(action)
            }
        }
        return (planned, kept)
    }
}
