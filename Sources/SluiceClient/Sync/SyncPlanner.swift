/// A remote object as a listing describes it, under its path relative to the prefix.
public struct RemoteFile: Sendable, Equatable {
    public var version: Int64
    public var size: Int64
    /// Hex SHA-256 of the whole object; may be empty for a moment after a commit (the
    /// content is then compared by partition hashes instead).
    public var sha256: String
    public var partitionSize: Int64

    public init(version: Int64, size: Int64, sha256: String, partitionSize: Int64) {
        self.version = version
        self.size = size
        self.sha256 = sha256
        self.partitionSize = partitionSize
    }
}

/// A local file as the scan found it, with its content's SHA-256.
public struct LocalFileState: Sendable, Equatable {
    public var stat: LocalStat
    public var sha256: String

    public init(stat: LocalStat, sha256: String) {
        self.stat = stat
        self.sha256 = sha256
    }
}

/// One step that brings a path into step on both sides.
public enum SyncAction: Sendable, Equatable {
    /// Send the local file; the remote is expected to be as given (nil: absent).
    case upload(String, local: LocalFileState, expected: RemoteFile?)
    /// Fetch the remote version; the local file is expected to be as given (nil: absent).
    case download(String, remote: RemoteFile, replacing: LocalStat?)
    /// Delete the remote object (its last state was synced and the local file is gone).
    case deleteRemote(String, expected: RemoteFile)
    /// Delete the local file (its last state was synced and the remote object is gone).
    case deleteLocal(String, expected: LocalStat)
    /// Both sides changed differently: the local version moves to a conflict name and is
    /// uploaded under it, the remote version takes the name.
    case conflict(String, local: LocalFileState, remote: RemoteFile)
    /// Both sides already hold the same content: remember it.
    case record(String, SyncedFile)
    /// Gone on both sides: forget it.
    case forget(String)

    public var path: String {
        switch self {
        case .upload(let path, _, _), .download(let path, _, _), .deleteRemote(let path, _),
             .deleteLocal(let path, _), .conflict(let path, _, _), .record(let path, _), .forget(let path):
            path
        }
    }

    /// Whether it deletes a file on one side (deletions run before the other actions).
    public var isDeletion: Bool {
        switch self {
        case .deleteLocal, .deleteRemote: true
        default: false
        }
    }

    /// Whether it changes anything on either side (record and forget only update the state).
    public var changesFiles: Bool {
        switch self {
        case .record, .forget: false
        default: true
        }
    }
}

/// Decides, path by path, what a sync does: a pure three-way comparison of the local file,
/// the remote object and the state both had when last in step (the base).
///
/// - Same content on both sides: nothing moves (it is remembered).
/// - Changed on one side only since the base: that side's version goes to the other.
/// - Changed on both sides (or created on both without a base) differently: a conflict.
/// - Gone on one side: if the other side still has the base content, the deletion goes
///   across; if the other side changed it, the changed version comes back (an edit beats a
///   deletion, so nothing is lost).
/// Content is compared by SHA-256; "changed" means different from the base's SHA-256.
public enum SyncPlanner {
    /// - Parameter sameContent: for paths on both sides whose remote SHA-256 is empty, whether
    ///   the contents are equal (found by comparing partition hashes).
    public static func plan(
        local: [PathKey: LocalFileState], remote: [PathKey: RemoteFile], base: [PathKey: SyncedFile],
        sameContent: [PathKey: Bool] = [:]
    ) -> [SyncAction] {
        let paths = Set(local.keys).union(remote.keys).union(base.keys)
        var actions: [SyncAction] = []
        for path in paths.sorted() {
            if let action = decide(path.string, local[path], remote[path], base[path], sameContent[path]) {
                actions.append(action)
            }
        }
        return actions
    }

    private static func decide(
        _ path: String, _ local: LocalFileState?, _ remote: RemoteFile?, _ base: SyncedFile?, _ same: Bool?
    ) -> SyncAction? {
        switch (local, remote) {
        case (nil, nil):
            return base == nil ? nil : .forget(path)
        case (let local?, nil):
            if let base, local.sha256 == base.sha256 { return .deleteLocal(path, expected: local.stat) }
            return .upload(path, local: local, expected: nil)
        case (nil, let remote?):
            if let base, !remoteChanged(remote, since: base) { return .deleteRemote(path, expected: remote) }
            return .download(path, remote: remote, replacing: nil)
        case (let local?, let remote?):
            let equal = remote.sha256.isEmpty ? (same ?? false) : remote.sha256 == local.sha256
            if equal {
                let synced = SyncedFile(local: local.stat, sha256: local.sha256, remoteVersion: remote.version)
                return synced == base ? nil : .record(path, synced)
            }
            guard let base else { return .conflict(path, local: local, remote: remote) }
            let localChanged = local.sha256 != base.sha256
            switch (localChanged, remoteChanged(remote, since: base)) {
            case (true, false): return .upload(path, local: local, expected: remote)
            case (false, true): return .download(path, remote: remote, replacing: local.stat)
            case (true, true): return .conflict(path, local: local, remote: remote)
            case (false, false):
                // Neither differs from the base yet they differ from each other: only when the
                // remote hash is unknown and its version is the base's; trust the remote.
                return .download(path, remote: remote, replacing: local.stat)
            }
        }
    }

    /// Whether the remote object differs from what was last synced: by SHA-256, or by
    /// version and size when its SHA-256 is not known yet.
    static func remoteChanged(_ remote: RemoteFile, since base: SyncedFile) -> Bool {
        remote.sha256.isEmpty ? remote.version != base.remoteVersion : remote.sha256 != base.sha256
    }
}
