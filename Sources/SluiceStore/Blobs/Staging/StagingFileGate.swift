import Synchronization

/// Bounds how many staging files are open at once: each holds a file descriptor for as long as
/// its partition streams in, and under a burst of uploads descriptors run out (EMFILE) long before
/// anything else does. Calls past the bound wait their turn, first come first served, instead of
/// failing; a waiting call that is cancelled leaves the queue.
public final class StagingFileGate: Sendable {
    private struct State {
        var available: Int
        var waiters: [(id: UInt64, continuation: CheckedContinuation<Void, any Error>)] = []
        var cancelledBeforeWaiting: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    /// The most staging files open at once.
    public let limit: Int
    private let state: Mutex<State>

    public init(limit: Int) {
        precondition(limit >= 1, "a StagingFileGate needs at least one file")
        self.limit = limit
        state = Mutex(State(available: limit))
    }

    /// Waits for a free slot; the caller must `release()` it exactly once.
    func acquire() async throws {
        let id = state.withLock { state -> UInt64? in
            if state.available > 0 && state.waiters.isEmpty {
                state.available -= 1
                return nil
            }
            defer { state.nextID += 1 }
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let cancelled = state.withLock { state -> Bool in
                    if state.cancelledBeforeWaiting.remove(id) != nil { return true }
                    state.waiters.append((id, continuation))
                    return false
                }
                if cancelled { continuation.resume(throwing: CancellationError()) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else {
                    state.cancelledBeforeWaiting.insert(id)
                    return nil
                }
                return state.waiters.remove(at: index).continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Frees a slot: the oldest waiting call gets it.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.waiters.isEmpty else {
                state.available += 1
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume()
    }
}
