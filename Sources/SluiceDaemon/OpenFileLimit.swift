#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit (RLIMIT_NOFILE). A server holds a descriptor per connection, per
/// staging file and per blob being read, and the usual soft limit of 1,024 is far below what the
/// hard limit allows: sluiced raises it at start.
public enum OpenFileLimit {
    /// The soft and hard limits now.
    public static func current() -> (soft: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (1024, 1024) }
        return (clamp(limit.rlim_cur), clamp(limit.rlim_max))
    }

    /// Raises the soft limit to the hard one (or to 1,048,576 when the hard one is unlimited,
    /// the kernel's usual ceiling). Returns the limits before and after.
    @discardableResult
    public static func raiseToHardLimit() -> (before: Int, after: Int, hard: Int) {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return (1024, 1024, 1024) }
        let before = clamp(limit.rlim_cur)
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max == unlimited ? rlim_t(1 << 20) : limit.rlim_max
            if setrlimit(resource, &raised) != 0, limit.rlim_max == unlimited {
                raised.rlim_cur = rlim_t(65_536)
                _ = setrlimit(resource, &raised)
            }
        }
        let now = current()
        return (before, now.soft, now.hard)
    }

    /// RLIM_INFINITY (all bits set), which Swift cannot import from its C macro.
    private static let unlimited = rlim_t.max

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif

    private static func clamp(_ value: rlim_t) -> Int {
        value == unlimited || value > rlim_t(Int.max) ? Int.max : Int(value)
    }
}
