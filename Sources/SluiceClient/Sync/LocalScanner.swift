import Foundation

/// What `lstat` says of a local file that tells whether it changed since it was synced.
public struct LocalStat: Sendable, Equatable, Codable {
    public var size: Int64
    /// Modification time in nanoseconds since the epoch.
    public var modificationTime: Int64
    public var inode: UInt64
    /// Status change time (`st_ctim`) in nanoseconds since the epoch. Every write sets it and,
    /// unlike the modification time, nothing can set it back (`touch -r`, `cp -p`, `rsync -t`
    /// and `tar x` restore only the modification time), so a same-size edit under a restored
    /// time is still seen. Nil in state files written before it was recorded: such a stat never
    /// equals a fresh one, so those files are hashed once more (and found unchanged).
    public var changeTime: Int64?

    public init(size: Int64, modificationTime: Int64, inode: UInt64, changeTime: Int64? = nil) {
        self.size = size
        self.modificationTime = modificationTime
        self.inode = inode
        self.changeTime = changeTime
    }

    /// The stat of a directory marker, which has no file of its own.
    public static let marker = LocalStat(size: 0, modificationTime: 0, inode: 0)

    /// What a `stat` buffer says.
    init(_ info: stat) {
        self.init(
            size: Int64(info.st_size),
            modificationTime: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec),
            inode: UInt64(info.st_ino),
            changeTime: Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec))
    }

    /// The file's stat, nil when it does not exist; a symbolic link is not followed.
    static func of(_ path: String) -> (stat: LocalStat, kind: mode_t)? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return nil }
        return (LocalStat(info), info.st_mode & S_IFMT)
    }
}

/// Something the sync leaves alone, with why.
public struct SkipNote: Sendable, Equatable {
    public var path: String
    public var reason: String
    /// `path` is escaped already (``TerminalText/escaped(bytes:)``: a name that is not UTF-8).
    public var pathIsEscaped = false
}

/// The local side of a sync: every regular file under the root (relative "/"-separated
/// paths), with a directory marker for every empty directory, minus what the ignore rules
/// exclude. Symbolic links, special files and names the server would refuse are skipped
/// with a note; sync's own temporary files are set apart, and files merely named like them
/// skipped with a note (never deleted, never uploaded).
struct LocalScan: Sendable {
    /// The pairing's marker, by which its own temporary files are known (nil: it made none).
    let temporaryMarker: String?
    var files: [PathKey: LocalStat] = [:]
    /// Every directory found, relative ("" is the root), for watching.
    var directories: [String] = [""]
    var skipped: [SkipNote] = []
    /// Temporary files that sync's downloads left behind (relative paths): never synced, and
    /// removed by a full pass unless their download is still to be done (then it resumes).
    var downloadTemporaries: [String] = []

    init(temporaryMarker: String?) {
        self.temporaryMarker = temporaryMarker
    }

    /// The failure of a scan whose directory is gone (removed, or on a disk unmounted along
    /// with its mount point).
    static func rootMissing(_ root: String) -> LocalFileError {
        LocalFileError(path: root, operation: "sync", code: ENOENT)
    }

    /// Whether `error` is ``rootMissing(_:)``'s for `root`.
    static func isRootMissing(_ error: any Error, root: String) -> Bool {
        guard let error = error as? LocalFileError else { return false }
        let missing = rootMissing(root)
        return (error.path, error.operation, error.code) == (missing.path, missing.operation, missing.code)
    }

    /// Scans `root`; `remotePrefix` counts toward the server's name limit (1024 bytes).
    static func scan(root: String, rules: IgnoreRules, remotePrefix: String, temporaryMarker: String?) throws -> LocalScan {
        var scan = LocalScan(temporaryMarker: temporaryMarker)
        guard let (_, kind) = LocalStat.of(root) else {
            throw rootMissing(root)
        }
        guard kind == S_IFDIR else { throw UsageError("\(root) is not a directory; sync needs a directory") }
        try scan.walk(root: root, relative: "", rules: rules, prefixBytes: remotePrefix.utf8.count)
        return scan
    }

    /// Walks one directory; returns how many entries it keeps (files and directories).
    @discardableResult
    private mutating func walk(root: String, relative: String, rules: IgnoreRules, prefixBytes: Int) throws -> Int {
        let absolute = relative.isEmpty ? root : root + "/" + relative
        let entries: [[UInt8]]
        do {
            entries = try DirectoryEntries.names(at: absolute)
        } catch {
            skipped.append(SkipNote(path: relative, reason: "the directory cannot be read"))
            return 1
        }
        var kept = 0
        for entry in entries {
            guard let name = String(validating: entry, as: UTF8.self) else {
                noteNotUTF8(entry, in: relative, rules: rules)
                continue
            }
            let path = relative.isEmpty ? name : relative + "/" + name
            if try visit(root: root, path: path, rules: rules, prefixBytes: prefixBytes) { kept += 1 }
        }
        return kept
    }

    /// Skips, with a note, a name that is not valid UTF-8: object names are UTF-8, so it
    /// cannot be synced, and the user must not believe it is. The note shows the path escaped
    /// (`sub/bad\xff.txt`), as the name itself cannot be printed.
    private mutating func noteNotUTF8(_ name: [UInt8], in relative: String, rules: IgnoreRules) {
        let path = TerminalText.escaped(bytes: Array((relative.isEmpty ? "" : relative + "/").utf8) + name)
        guard !rules.excludesItself(path, isDirectory: false) else { return }
        skipped.append(SkipNote(
            path: path, reason: "not valid UTF-8 (its bytes are shown escaped); rename it to sync it",
            pathIsEscaped: true))
    }

    /// Looks at one entry (a directory with everything under it); true when it is kept.
    @discardableResult
    private mutating func visit(root: String, path: String, rules: IgnoreRules, prefixBytes: Int) throws -> Bool {
        let name = SyncNames.lastComponent(of: path)
        if SyncNames.isTemporary(name) {
            if SyncNames.downloadTemporary(ofLeftover: path, marker: temporaryMarker) != nil {
                downloadTemporaries.append(path)
            } else if !rules.excludesItself(path, isDirectory: false) {
                skipped.append(SkipNote(
                    path: path, reason: "it is named like a sync temporary file but is not one this sync made; left alone"))
            }
            return false
        }
        guard let (stat, kind) = LocalStat.of(root + "/" + path) else { return false }
        switch kind {
        case S_IFDIR:
            if rules.excludesItself(path, isDirectory: true) { return false }
            directories.append(path)
            let inside = try walk(root: root, relative: path, rules: rules, prefixBytes: prefixBytes)
            if inside == 0 { files[PathKey(path + "/" + SyncNames.directoryMarker)] = .marker }
            return true
        case S_IFREG:
            if rules.excludesItself(path, isDirectory: false) { return false }
            if name == SyncNames.directoryMarker {
                skipped.append(SkipNote(path: path, reason: "the name is reserved for directory markers"))
            } else if prefixBytes + path.utf8.count > 1024 {
                skipped.append(SkipNote(path: path, reason: "the object name would be longer than 1024 bytes"))
            } else {
                files[PathKey(path)] = stat
                return true
            }
        case S_IFLNK:
            if !rules.excludesItself(path, isDirectory: false) {
                skipped.append(SkipNote(path: path, reason: "symbolic link, not followed"))
            }
        default:
            if !rules.excludesItself(path, isDirectory: false) {
                skipped.append(SkipNote(path: path, reason: "not a regular file (device, pipe or socket)"))
            }
        }
        return false
    }

    /// Scans only a scope: each root (with everything under it) as a full scan would see it,
    /// and, for each parent of a root, its marker when it now keeps nothing. `directories`
    /// holds the directories found.
    static func scan(
        root: String, within scope: ScopedPaths, rules: IgnoreRules, remotePrefix: String, temporaryMarker: String?
    ) throws -> LocalScan {
        var scan = LocalScan(temporaryMarker: temporaryMarker)
        scan.directories = []
        guard let (_, kind) = LocalStat.of(root) else {
            throw rootMissing(root)
        }
        guard kind == S_IFDIR else { throw UsageError("\(root) is not a directory; sync needs a directory") }
        let prefixBytes = remotePrefix.utf8.count
        // Inside an excluded directory nothing is looked at, as in a full scan.
        func excludedAbove(_ path: String) -> Bool {
            let parent = SyncNames.parent(of: path)
            return !parent.isEmpty && rules.excludes(parent, isDirectory: true)
        }
        for path in scope.roots.sorted().map(\.string) where !excludedAbove(path) {
            guard scan.reachable(root: root, path, rules: rules) else { continue }
            try scan.visit(root: root, path: path, rules: rules, prefixBytes: prefixBytes)
        }
        for directory in scope.parents.sorted().map(\.string) where !excludedAbove(directory) && !rules.excludesItself(directory, isDirectory: true) {
            guard scan.reachable(root: root, directory, rules: rules),
                LocalStat.of(root + "/" + directory)?.kind == S_IFDIR
            else { continue }
            var probe = LocalScan(temporaryMarker: temporaryMarker)
            let names = ((try? DirectoryEntries.names(at: root + "/" + directory)) ?? [])
                .compactMap { String(validating: $0, as: UTF8.self) }
            let keepsSomething = try names.contains { name in
                let path = directory + "/" + name
                // A directory is kept whatever it holds: no need to look inside.
                if LocalStat.of(root + "/" + path)?.kind == S_IFDIR {
                    return !rules.excludesItself(path, isDirectory: true)
                }
                return try probe.visit(root: root, path: path, rules: rules, prefixBytes: prefixBytes)
            }
            if !keepsSomething { scan.files[PathKey(directory + "/" + SyncNames.directoryMarker)] = .marker }
        }
        return scan
    }

    /// Whether every directory above `path` is a directory, not a link to one: a scope names
    /// paths deep in the tree, and looking at one through a link would see (and sync) what lies
    /// outside the root. A link found on the way is skipped with a note, as a full scan skips it.
    private mutating func reachable(root: String, _ path: String, rules: IgnoreRules) -> Bool {
        var above = ""
        for component in SyncNames.parent(of: path).split(separator: "/") {
            above = above.isEmpty ? String(component) : above + "/" + String(component)
            switch LocalStat.of(root + "/" + above)?.kind {
            case S_IFDIR:
                continue
            case S_IFLNK:
                if !rules.excludesItself(above, isDirectory: false), !skipped.contains(where: { PathKey($0.path) == PathKey(above) }) {
                    skipped.append(SkipNote(path: above, reason: "symbolic link, not followed"))
                }
                return false
            default:
                return false
            }
        }
        return true
    }
}
