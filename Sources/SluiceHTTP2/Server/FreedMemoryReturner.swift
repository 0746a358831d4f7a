#if canImport(Glibc)
import Glibc
#endif

/// Hands memory the process has freed back to the system from time to time.
///
/// glibc keeps freed memory in its per-thread arenas for reuse; after a burst (thousands
/// of streams buffering request bytes, then reset) the process would keep the peak as its
/// resident size for ever, although nothing uses it. `malloc_trim` returns the free pages.
/// It runs off the event loops, and costs little when there is nothing to return.
enum FreedMemoryReturner {
    static let interval = Duration.seconds(5)

    /// Runs until the returned task is cancelled; does nothing where glibc is absent.
    static func start() -> Task<Void, Never>? {
        guard let trim = mallocTrim() else { return nil }
        return Task.detached(priority: .background) {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                _ = trim(0)
            }
        }
    }

    /// glibc's `malloc_trim`, looked up at run time: <malloc.h> is not part of the Glibc
    /// module Swift imports.
    private static func mallocTrim() -> (@convention(c) (Int) -> Int32)? {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }
}
