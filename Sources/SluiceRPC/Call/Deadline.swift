/// Runs an operation under a deadline. When the deadline passes first, `onExpiry` runs at
/// once (so the peer learns of it even if the operation is slow to notice), the operation
/// is cancelled, and the call fails with DEADLINE_EXCEEDED after the operation has ended.
func withDeadline<Result: Sendable>(
    _ deadline: ContinuousClock.Instant?,
    onExpiry: @escaping @Sendable () async -> Void,
    operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    guard let deadline else { return try await operation() }
    return try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            return nil
        }
        defer { group.cancelAll() }
        do {
            if let finished = try await group.next()! {
                return finished
            }
        } catch is CancellationError where ContinuousClock.now >= deadline {
            // The operation noticed the timer's cancellation first; the deadline still won.
        }
        await onExpiry()
        group.cancelAll()
        while (try? await group.next()) != nil {}
        throw RPCError(.deadlineExceeded, "deadline exceeded")
    }
}
