import NIOPosix

/// Runs the disk store's blocking system calls on a NIOThreadPool, so that a slow disk or an
/// fsync never occupies one of the few threads of Swift's cooperative pool, where the server's
/// connection and handler tasks run.
struct BlockingIO: Sendable {
    let pool: NIOThreadPool

    /// Runs `body` on the pool. A task cancelled before `body` starts gets `CancellationError`
    /// and `body` never runs; once started, it runs to the end.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    /// Runs `body` on the pool even if the calling task is cancelled: for clean-up, which is
    /// needed most after a cancellation.
    func runRegardlessOfCancellation(_ body: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            detach {
                body()
                continuation.resume()
            }
        }
    }

    /// Queues `body` on the pool without waiting for it: for clean-up from a `deinit`.
    ///
    /// A pool that has shut down hands the item back as cancelled on the calling thread; it runs
    /// anyway, since leaking a descriptor or a staging file is worse than one blocking call there.
    func detach(_ body: @escaping @Sendable () -> Void) {
        pool.submit { _ in body() }
    }
}
