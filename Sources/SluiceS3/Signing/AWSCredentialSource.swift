#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// The credentials S3 requests are signed with, as of each request. Credentials from the
/// environment are fixed for the process's life; credentials from a shared credentials file
/// are read again whenever the file changes (its modification time, size or inode), so that
/// temporary credentials renewed in the file (by a sidecar, `aws sso login`, an operator) take
/// effect without a restart. A file that cannot be read or parsed for the moment (caught half
/// rewritten) leaves the last good credentials in use until it can.
public final class AWSCredentialSource: Sendable {
    private let file: (path: String, profile: String)?
    private let state: Mutex<(credentials: AWSCredentials, stamp: FileStamp?)>

    /// The standard chain of ``AWSCredentials/load(environment:)``, its file followed.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        switch try AWSCredentials.locate(environment: environment) {
        case .environment(let credentials):
            file = nil
            state = Mutex((credentials, nil))
        case .file(let path, let profile):
            file = (path, profile)
            let stamp = FileStamp(path)
            state = Mutex((try AWSCredentials.fromFile(path, profile: profile), stamp))
        }
    }

    /// The credentials to sign with now.
    public func current() -> AWSCredentials {
        guard let file else { return state.withLock { $0.credentials } }
        let stamp = FileStamp(file.path)
        return state.withLock { state in
            guard let stamp, stamp != state.stamp,
                  let fresh = try? AWSCredentials.fromFile(file.path, profile: file.profile)
            else { return state.credentials }
            state = (fresh, stamp)
            return fresh
        }
    }

    /// What tells one version of a file from the next without reading it.
    private struct FileStamp: Equatable {
        var inode: UInt64
        var size: Int64
        var modified: timespec

        init?(_ path: String) {
            var status = stat()
            guard stat(path, &status) == 0 else { return nil }
            inode = UInt64(status.st_ino)
            size = Int64(status.st_size)
            modified = status.st_mtim
        }

        static func == (a: FileStamp, b: FileStamp) -> Bool {
            a.inode == b.inode && a.size == b.size
                && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
        }
    }
}
