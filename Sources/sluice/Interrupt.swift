import Dispatch
import Foundation
import SluiceClient
import Synchronization

/// Ctrl-C during a transfer: the first SIGINT cancels the work (calls are reset, the journal
/// stays for the next run), a second one exits at once.
enum Interrupt {
    /// Set by the first SIGINT.
    private final class Flag: Sendable {
        let raised = Atomic<Bool>(false)
    }

    /// Runs `body` in a task that SIGINT cancels; an interrupted run throws CancellationError.
    static func cancellable<Result: Sendable>(
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let task = Task { try await body() }
        let flag = Flag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler {
            if flag.raised.exchange(true, ordering: .relaxed) { _exit(SluiceExitCode.interrupted.rawValue) }
            task.cancel()
        }
        source.resume()
        defer {
            source.cancel()
            signal(SIGINT, SIG_DFL)
        }
        do {
            return try await task.value
        } catch {
            if flag.raised.load(ordering: .relaxed) { throw CancellationError() }
            throw error
        }
    }
}
