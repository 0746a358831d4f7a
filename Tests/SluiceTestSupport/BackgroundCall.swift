import Synchronization

/// A call running in a task of its own whose end can be noticed without waiting for it, so
/// that a test waiting for the call to reach some point (``waitUntil(_:timeout:whileRunning:_:)``)
/// learns at once that it failed before getting there, instead of waiting for ever.
public final class BackgroundCall<Value: Sendable>: Sendable {
    private let task: Task<Value, any Error>
    private let outcome: Outcome

    public init(_ body: @escaping @Sendable () async throws -> Value) {
        let outcome = Outcome()
        self.outcome = outcome
        task = Task {
            do {
                let value = try await body()
                outcome.result.withLock { $0 = .success(value) }
                return value
            } catch {
                outcome.result.withLock { $0 = .failure(error) }
                throw error
            }
        }
    }

    /// Waits for the call to end; returns its value or throws its error.
    public var value: Value {
        get async throws { try await task.value }
    }

    /// Cancels the call's task.
    public func cancel() { task.cancel() }

    /// How the call ended, or nil while it runs.
    public var ended: Result<Value, any Error>? { outcome.result.withLock { $0 } }

    private final class Outcome: Sendable {
        let result = Mutex<Result<Value, any Error>?>(nil)
    }
}
