#if canImport(Glibc)
import Glibc
#endif

/// Decides when memory the process has freed goes back to the system: every few seconds,
/// not on every free.
///
/// glibc keeps freed memory in its per-thread arenas for reuse; after a burst (thousands
/// of streams buffering request bytes, then reset) the process would keep the peak as its
/// resident size for ever, although nothing uses it. `malloc_trim` returns the free pages.
/// It runs off the event loops, and costs little when there is nothing to return.
///
/// Left to itself, glibc does the opposite for large buffers: it maps each allocation over
/// its threshold (128 KiB to 32 MiB, moving) and unmaps it on free, and shrinks an arena's
/// top as soon as a few MiB are free there — so every request message (up to 4 MiB, reserved
/// whole) came in fresh pages, faulted in and zeroed by the kernel: about a tenth of the
/// server's CPU in a durable upload. With the thresholds fixed above the largest message,
/// freed buffers are reused from the arenas, and the periodic trim still hands back what
/// stays free. A client fixes them too: an upload's every outgoing message (a megabyte read
/// from the file straight into its frame) was otherwise fresh pages, a tenth of the CLI's CPU.
enum FreedMemoryReturner {
    static let interval = Duration.seconds(5)
    /// Allocations up to this size come from the arenas (glibc's `M_MMAP_THRESHOLD`).
    static let mapThreshold: Int32 = 16 << 20
    /// Free memory an arena's top may keep between trims (glibc's `M_TRIM_THRESHOLD`).
    static let trimThreshold: Int32 = 32 << 20

    /// Fixes the thresholds, then trims every ``interval`` until the returned task is
    /// cancelled; does nothing where glibc is absent.
    static func start() -> Task<Void, Never>? {
        fixThresholds()
        guard let trim = glibc("malloc_trim", as: (@convention(c) (Int) -> Int32).self) else { return nil }
        return Task.detached(priority: .background) {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                _ = trim(0)
            }
        }
    }

    /// Fixes glibc's thresholds for the whole process (the first call does; the others find
    /// them fixed).
    static func fixThresholds() { _ = thresholdsFixed }

    private static let thresholdsFixed: Bool = {
        guard let mallopt = glibc("mallopt", as: (@convention(c) (Int32, Int32) -> Int32).self) else { return false }
        let trimThresholdParameter: Int32 = -1, mapThresholdParameter: Int32 = -3  // <malloc.h>
        _ = mallopt(mapThresholdParameter, mapThreshold)
        _ = mallopt(trimThresholdParameter, trimThreshold)
        return true
    }()

    /// A glibc function looked up at run time: <malloc.h> is not part of the Glibc module
    /// Swift imports.
    private static func glibc<Function>(_ name: String, as type: Function.Type) -> Function? {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: type)
        #else
        return nil
        #endif
    }
}
