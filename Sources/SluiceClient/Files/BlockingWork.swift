import Dispatch
import Synchronization

/// Runs long blocking work (hashing a large file) on a Dispatch thread instead of one of
/// the few threads Swift concurrency shares, and lets the work notice task cancellation.
enum BlockingWork {
    /// Tells blocking work that the task waiting for it was cancelled.
    final class CancellationFlag: Sendable {
        private let cancelled = Atomic<Bool>(false)

        var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

        func cancel() { cancelled.store(true, ordering: .relaxed) }

        /// Throws CancellationError once cancelled; call it between units of work.
        func check() throws {
            if isCancelled { throw CancellationError() }
        }
    }

    static func run<Result: Sendable>(
        _ body: @escaping @Sendable (CancellationFlag) throws -> Result
    ) async throws -> Result {
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(with: Swift.Result { try body(flag) })
                }
            }
        } onCancel: {
            flag.cancel()
        }
    }
}
