#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A system resource the blob store ran short of: not a fault of the request, not a bug, and
/// not something an immediate resend fixes by itself.
public enum ResourceShortage: Sendable, Equatable {
    /// The file system holding blobs or staging files is full, or a quota is used up
    /// (ENOSPC, EDQUOT): an operator must free space; the upload resumes afterwards.
    case space
    /// Too many open files in the process or the system (EMFILE, ENFILE), or the kernel is
    /// short of memory (ENOMEM, ENOBUFS, EAGAIN): passes as other calls finish.
    case transient
}

extension BlobError {
    /// The resource shortage this failure reports, if it is one.
    public var resourceShortage: ResourceShortage? {
        guard case .io(_, _, let code) = self else { return nil }
        switch code {
        case ENOSPC, EDQUOT: return .space
        case EMFILE, ENFILE, ENOMEM, ENOBUFS, EAGAIN: return .transient
        default: return nil
        }
    }
}
