/// What a sync pass looks at: everything (a full pass: the whole directory scanned, the
/// whole prefix listed), or only the paths inotify reported changed, each with everything
/// under it (a watch round: those paths scanned, one listing of each).
public enum SyncScope: Sendable, Equatable {
    case everything
    /// Relative paths, each standing for itself and everything under it.
    case paths(Set<PathKey>)

    /// The most paths a scoped pass takes: past that, one full listing (one call per 1,000
    /// objects) is cheaper than a listing per path.
    static let mostPaths = 32

    /// The scope of what changed: `changed` holds absolute paths reported under `root`. A
    /// change to the root itself, to the ignore rules, or to too many paths makes a full pass.
    public static func of(changed: Set<PathKey>, root: String) -> SyncScope {
        var paths = Set<PathKey>()
        let top = Array((root + "/").utf8)
        for absolute in changed.map(\.string) {
            guard absolute.utf8.starts(with: top) else { return .everything }
            let path = String(decoding: absolute.utf8.dropFirst(top.count), as: UTF8.self)
            if path.isEmpty || path == SyncNames.ignoreFile { return .everything }
            // Sync's own temporary files change nothing that is synced; a name that cannot
            // be a local file (from the remote side) is for a full pass to note.
            if SyncNames.isTemporary(SyncNames.lastComponent(of: path)) { continue }
            if SyncNames.problem(withRemotePath: path) != nil { return .everything }
            paths.insert(PathKey(path))
        }
        return paths.count > mostPaths ? .everything : .paths(paths)
    }
}

/// A scope's paths, resolved: the roots (none inside another) and the directories whose
/// emptiness a change may have flipped (the parents of the roots), whose markers are in scope.
struct ScopedPaths: Sendable {
    let roots: Set<PathKey>
    /// Parents of roots, other than the top: a root appearing or going may empty or fill them.
    let parents: Set<PathKey>

    init(_ paths: Set<PathKey>) {
        roots = paths.filter { path in SyncNames.ancestor(of: path.string, in: paths) == nil }
        parents = Set(roots.map { SyncNames.parent(of: $0.string) }.filter { !$0.isEmpty }.map { PathKey($0) })
    }

    /// The markers of the parent directories.
    var parentMarkers: Set<PathKey> {
        Set(parents.map { PathKey($0.string + "/" + SyncNames.directoryMarker) })
    }

    /// Whether `path` is in scope: a root, inside one, or a parent's marker.
    func contains(_ path: PathKey) -> Bool {
        var candidate = path.string
        while !candidate.isEmpty {
            if roots.contains(PathKey(candidate)) { return true }
            candidate = SyncNames.parent(of: candidate)
        }
        return SyncNames.isMarker(path.string) && parents.contains(PathKey(SyncNames.directory(ofMarker: path.string)))
    }
}
