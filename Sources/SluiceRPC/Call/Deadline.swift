/// Runs an operation under a deadline. When the deadline passes first, the operation is
/// cancelled and `onExpiry` runs at once (so the peer learns of it even if the operation is
/// slow to notice), and the call fails with DEADLINE_EXCEEDED after the operation has ended.
func withDeadline<Result: Sendable>(
    _ deadline: ContinuousClock.Instant?,
    onExpiry: @escaping @Sendable () async -> Void,
    operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    guard let deadline else { return try await operation() }
    return try await withExpiry(
        { deadline }, onExpiry: onExpiry, failure: RPCError(.deadlineExceeded, "deadline exceeded"), operation: operation)
}

/// Runs an operation until it ends or the instant `expiry` names passes, whichever is first.
/// `expiry` is asked again each time the previous one is reached, so it may move later (an
/// idle timeout moves with progress). On expiry as ``withDeadline(_:onExpiry:operation:)``,
/// failing with `failure`.
func withExpiry<Result: Sendable>(
    _ expiry: @escaping @Sendable () -> ContinuousClock.Instant,
    onExpiry: @escaping @Sendable () async -> Void,
    failure: RPCError,
    operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            while case let due = expiry(), ContinuousClock.now < due {
                try await Task.sleep(until: due, clock: .continuous)
            }
            return nil
        }
        defer { group.cancelAll() }
        do {
            if let finished = try await group.next()! {
                return finished
            }
        } catch is CancellationError where ContinuousClock.now >= expiry() {
            // The operation noticed the timer's cancellation first; the expiry still won.
        }
        // Cancelled before the expiry ends the call's streams, so the operation can never
        // take its ended request stream for a complete one and carry on as if it were.
        group.cancelAll()
        await onExpiry()
        while (try? await group.next()) != nil {}
        throw failure
    }
}
