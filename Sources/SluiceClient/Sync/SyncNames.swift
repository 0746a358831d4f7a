import Foundation

/// The names sync reserves or makes: the empty-directory marker, the ignore file, its own
/// temporary files, conflict copies, and which relative paths can be local files.
public enum SyncNames {
    /// An empty directory is kept as a zero-byte object `DIR/.sluice-dir` (content type
    /// `markerContentType`); a local file of this name is refused as reserved.
    public static let directoryMarker = ".sluice-dir"
    public static let markerContentType = "application/x-sluice-directory"
    /// The ignore rules' file at the top of the synced directory (itself synced).
    public static let ignoreFile = ".sluiceignore"
    /// SHA-256 of no bytes: the hash of every directory marker.
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Whether `name` (one component) is a temporary file of a download in progress, never synced.
    public static func isTemporary(_ name: String) -> Bool {
        name.hasPrefix(".") && (name.hasSuffix(".sluice-part") || name.hasSuffix(".sluice-part.json")
            || name.hasSuffix(".sluice-download"))
    }

    /// Whether the relative path is a directory marker.
    public static func isMarker(_ path: String) -> Bool {
        path == directoryMarker || path.hasSuffix("/" + directoryMarker)
    }

    /// The directory a marker stands for.
    public static func directory(ofMarker path: String) -> String {
        String(path.dropLast(directoryMarker.utf8.count).dropLast(path == directoryMarker ? 0 : 1))
    }

    /// The directory part of a "/"-separated path ("" at the top). Written out rather than
    /// taken from NSString, whose path functions trap on some inputs on Linux.
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    /// The nearest directory above `path` that is one of `paths`, nil when none is.
    public static func ancestor(of path: String, in paths: Set<String>) -> String? {
        var directory = parent(of: path)
        while !directory.isEmpty {
            if paths.contains(directory) { return directory }
            directory = parent(of: directory)
        }
        return nil
    }

    /// The last component of a "/"-separated path.
    public static func lastComponent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The temporary file a download of `path` is written to before it is renamed into place
    /// (a bare name for a bare name). A large download is first written by the downloader
    /// beside that, as `..NAME.sluice-download.sluice-part` with its journal `….sluice-part.json`.
    static func downloadTemporary(for path: String) -> String {
        let directory = parent(of: path)
        let name = "." + lastComponent(of: path) + ".sluice-download"
        return directory.isEmpty ? name : directory + "/" + name
    }

    /// The path (relative, as `temporary` is) whose download left the temporary file
    /// `temporary`, or nil when it is not one of sync's download temporaries.
    static func downloadTarget(ofTemporary temporary: String) -> String? {
        var name = Substring(lastComponent(of: temporary))
        if name.hasSuffix(".json") { name = name.dropLast(".json".utf8.count) }
        // The downloader's partial file adds a "." before the name and ".sluice-part" after it.
        let dots = name.hasSuffix(".sluice-part") ? 2 : 1
        if dots == 2 { name = name.dropLast(".sluice-part".utf8.count) }
        guard name.hasSuffix(".sluice-download"), name.hasPrefix(String(repeating: ".", count: dots)) else { return nil }
        name = name.dropFirst(dots).dropLast(".sluice-download".utf8.count)
        guard !name.isEmpty else { return nil }
        let directory = parent(of: temporary)
        return directory.isEmpty ? String(name) : directory + "/" + name
    }

    /// Why a remote relative path cannot be a local file, or nil if it can: empty components,
    /// `.` or `..`, a component too long for a file name, or a name sync uses itself.
    public static func problem(withRemotePath path: String) -> String? {
        guard !path.isEmpty else { return "the name is the prefix itself" }
        // Only directories inside the synced one have markers: the top always exists, so
        // its marker would be downloaded again and again, never settled.
        guard path != directoryMarker else { return "it marks the synced folder itself, which always exists" }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        for component in components {
            if component.isEmpty { return "it has an empty path component" }
            if component == "." || component == ".." { return "it has a '\(component)' component" }
            if component.utf8.count > 255 { return "a component is longer than 255 bytes" }
            if isTemporary(String(component)) { return "it is named like a sync temporary file" }
        }
        return nil
    }

    /// `dir/name (conflict from DEVICE YYYY-MM-DD HHMMSS).ext`: the name a conflicting local
    /// version is kept under; `number` 2 and up add ` N` after the time, for another copy made
    /// within the same second. The extension is what follows the last "." of the file name
    /// (none for names starting with their only "."). Characters a device name cannot hold
    /// in a file name ("/") become "-".
    public static func conflictName(for path: String, device: String, at date: Date, number: Int = 1) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HHmmss"
        let directory = parent(of: path)
        let name = lastComponent(of: path)
        var stem = name, ext = ""
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            stem = String(name[..<dot])
            ext = String(name[dot...])
        }
        let cleanDevice = device.replacingOccurrences(of: "/", with: "-")
        let count = number > 1 ? " \(number)" : ""
        let conflicted = "\(stem) (conflict from \(cleanDevice) \(formatter.string(from: date))\(count))\(ext)"
        return directory.isEmpty ? conflicted : directory + "/" + conflicted
    }
}
