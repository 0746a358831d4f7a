import Dispatch
import Foundation
import SluiceClient
import Synchronization

/// Ctrl-C during a transfer, or a SIGTERM (a service manager stopping it, `timeout`): the
/// first cancels the work (calls are reset, the journal stays for the next run), a second one
/// exits at once.
enum Interrupt {
    /// Set by the first signal.
    private final class Flag: Sendable {
        let raised = Atomic<Bool>(false)
    }

    /// The signals that stop a run this way.
    private static let signals = [SIGINT, SIGTERM]

    /// Runs `body` in a task that SIGINT or SIGTERM cancels; an interrupted run throws
    /// CancellationError.
    static func cancellable<Result: Sendable>(
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        let task = Task { try await body() }
        let flag = Flag()
        let sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if flag.raised.exchange(true, ordering: .relaxed) { _exit(SluiceExitCode.interrupted.rawValue) }
                task.cancel()
            }
            source.resume()
            return source
        }
        defer {
            for source in sources { source.cancel() }
            for number in signals { signal(number, SIG_DFL) }
        }
        do {
            return try await task.value
        } catch {
            if flag.raised.load(ordering: .relaxed) { throw CancellationError() }
            throw error
        }
    }
}
