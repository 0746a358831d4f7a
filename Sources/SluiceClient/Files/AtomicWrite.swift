import Foundation

/// Replaces small files (journals) all at once: the bytes go to a temporary file beside the
/// target, are fsync'ed, and the temporary file is renamed over the target; a crash leaves
/// the old file or the new one, never a torn one.
enum AtomicWrite {
    /// What ends every temporary name (which also starts with "."), so that a leftover can be
    /// traced to its target.
    static let temporarySuffix = ".tmp"

    /// The name of the temporary file beside a target named `name`. One fixed name per
    /// target: a temporary left by a killed process is overwritten and renamed away by the
    /// next write instead of lingering beside the target.
    static func temporaryName(for name: String) -> String {
        "." + name + temporarySuffix
    }

    static func write(_ data: Data, to path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory as NSString).appendingPathComponent(temporaryName(for: (path as NSString).lastPathComponent))
        let file = try LocalFile.openForUpdate(temporary)
        do {
            try file.truncate(to: 0)
            try data.withUnsafeBytes { try file.write($0, at: 0) }
            try file.sync()
            guard rename(temporary, path) == 0 else {
                throw LocalFileError(path: path, operation: "replace", code: errno, writing: true)
            }
        } catch {
            unlink(temporary)
            throw error
        }
        syncDirectory(directory)
    }

    /// Makes a rename in `directory` durable; best effort.
    static func syncDirectory(_ directory: String) {
        let descriptor = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
