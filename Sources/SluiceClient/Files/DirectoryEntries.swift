import Foundation

/// The names in a directory as the file system holds them: bytes. Foundation's listing
/// turns each name into a `String` and silently leaves out those that are not valid UTF-8
/// (a name from an ISO-8859-1 system, an old archive, a Samba share), so a scan built on it
/// could neither sync nor report them; `readdir` sees every one.
enum DirectoryEntries {
    /// The names in the directory at `path` ("." and ".." left out), in byte order.
    ///
    /// - Throws: ``LocalFileError`` when the directory cannot be opened or read.
    static func names(at path: String) throws -> [[UInt8]] {
        guard let directory = opendir(path) else {
            throw LocalFileError(path: path, operation: "read directory", code: errno)
        }
        defer { closedir(directory) }
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                guard errno == 0 else { throw LocalFileError(path: path, operation: "read directory", code: errno) }
                return names.sorted { $0.lexicographicallyPrecedes($1) }
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name != Array(".".utf8), name != Array("..".utf8) { names.append(name) }
        }
    }
}
