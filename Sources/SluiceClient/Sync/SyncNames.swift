import Foundation

/// The names sync reserves or makes: the empty-directory marker, the ignore file, its own
/// temporary files (``SyncNames/downloadTemporary(for:marker:)``), conflict copies, and which
/// relative paths can be local files.
public enum SyncNames {
    /// An empty directory is kept as a zero-byte object `DIR/.sluice-dir` (content type
    /// `markerContentType`); a local file of this name is refused as reserved.
    public static let directoryMarker = ".sluice-dir"
    public static let markerContentType = "application/x-sluice-directory"
    /// The ignore rules' file at the top of the synced directory (itself synced).
    public static let ignoreFile = ".sluiceignore"
    /// SHA-256 of no bytes: the hash of every directory marker.
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// Whether the relative path is a directory marker.
    public static func isMarker(_ path: String) -> Bool {
        path == directoryMarker || path.hasSuffix("/" + directoryMarker)
    }

    /// The directory a marker stands for.
    public static func directory(ofMarker path: String) -> String {
        String(decoding: path.utf8.dropLast(directoryMarker.utf8.count + (path == directoryMarker ? 0 : 1)), as: UTF8.self)
    }

    /// The directory part of a "/"-separated path ("" at the top). Written out rather than
    /// taken from NSString, whose path functions trap on some inputs on Linux; cut at the byte
    /// "/", since a "/" followed by a combining mark is no `Character` "/" of its own.
    public static func parent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "" }
        return String(decoding: path.utf8[..<slash], as: UTF8.self)
    }

    /// The nearest directory above `path` that is one of `paths`, nil when none is.
    public static func ancestor(of path: String, in paths: Set<PathKey>) -> String? {
        var directory = parent(of: path)
        while !directory.isEmpty {
            if paths.contains(PathKey(directory)) { return directory }
            directory = parent(of: directory)
        }
        return nil
    }

    /// The last component of a "/"-separated path (cut at the byte "/", as `parent`).
    public static func lastComponent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return path }
        return String(decoding: path.utf8[path.utf8.index(after: slash)...], as: UTF8.self)
    }

    /// The "/"-separated components of a path, empty ones included (cut at the byte "/").
    public static func components(of path: String) -> [String] {
        path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// Why a remote relative path cannot be a local file, or nil if it can: empty components,
    /// `.` or `..`, a component too long for a file name, or a name sync uses itself.
    public static func problem(withRemotePath path: String) -> String? {
        guard !path.isEmpty else { return "the name is the prefix itself" }
        // Only directories inside the synced one have markers: the top always exists, so
        // its marker would be downloaded again and again, never settled.
        guard path != directoryMarker else { return "it marks the synced folder itself, which always exists" }
        for component in components(of: path) {
            if component.isEmpty { return "it has an empty path component" }
            if component == "." || component == ".." { return "it has a '\(component)' component" }
            if component.utf8.count > 255 { return "a component is longer than 255 bytes" }
            if isTemporary(component) { return "it is named like a sync temporary file" }
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
        let suffix = " (conflict from \(cleanDevice) \(formatter.string(from: date))\(count))"
        // A long name loses the end of its stem, never the suffix that says what the copy is
        // (nor its extension, unless that is itself too long to leave room for a stem).
        if suffix.utf8.count + ext.utf8.count > FileNameLimit.maxBytes / 2 {
            stem = name
            ext = ""
        }
        stem = FileNameLimit.fitting(stem, within: max(32, FileNameLimit.maxBytes - suffix.utf8.count - ext.utf8.count))
        let conflicted = stem + suffix + ext
        return directory.isEmpty ? conflicted : directory + "/" + conflicted
    }
}
