#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes that go straight from user memory to the device, past the page cache (`O_DIRECT`).
///
/// Sluice syncs every file it writes before it counts (a blob before it is acknowledged, a
/// download before it is renamed onto its target), so caching the pages buys nothing on the way
/// in; copying each byte into freshly allocated cache pages was the largest kernel cost of both a
/// durable upload and a download (`copy_folio_from_iter_atomic`: up to half of the writer's CPU
/// on this project's machines, and the source of its swings from run to run). Direct writes
/// must start and end on page boundaries from page-aligned memory: see ``DirectWriteRun`` and
/// ``AlignedBufferPool``.
public enum DirectIO {
    /// The `open` flag (Swift's Glibc module does not export `O_DIRECT`; its value differs by
    /// architecture), or nil where the platform has none.
    public static let openFlag: Int32? = {
        #if os(Linux) && arch(x86_64)
        return 0o40000
        #elseif os(Linux) && (arch(arm64) || arch(arm))
        return 0o200000
        #else
        return nil
        #endif
    }()

    /// Blobs, and a download's partitions, at least this large are written past the page cache.
    /// A smaller one is one or a few writes, where direct writes only add device round trips
    /// before the sync that follows (a download in 128 KiB partitions took 7.3 s against 6.7).
    public static let threshold: Int64 = 1 << 20

    /// Whether a failed `open` or write with `O_DIRECT` means the file system will not do direct
    /// I/O (`EINVAL`, or `EOPNOTSUPP` on some), so the same bytes should go through the cache.
    public static func isRefusal(_ code: Int32) -> Bool {
        code == EINVAL || code == EOPNOTSUPP
    }

    /// Whether `offset` may start a direct write.
    public static func isAligned(_ offset: Int64) -> Bool {
        offset % Int64(AlignedBufferPool.alignment) == 0
    }

    /// Turns `O_DIRECT` off on an open descriptor, so that its later writes go through the page
    /// cache; false (with `errno` set) when `fcntl` fails.
    public static func stop(on descriptor: Int32) -> Bool {
        guard let flag = openFlag else { return true }
        let flags = fcntl(descriptor, F_GETFL)
        return flags >= 0 && fcntl(descriptor, F_SETFL, flags & ~flag) == 0
    }
}
