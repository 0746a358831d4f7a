import Synchronization

/// A counting semaphore for transfers: at most `capacity` hold a slot at once, and the rest
/// wait, in arrival order, without blocking a thread.
///
/// Every S3 transfer runs on a thread of its own (libcurl blocks), so this is what bounds the
/// threads and connections one sluiced opens to its bucket. A wait ends early when the waiting
/// task is cancelled: a call that gave up must not queue for a slot it no longer needs, nor be
/// held open until one frees (while S3 hangs, that is the stall timeout away).
final class TransferSlots: Sendable {
    private struct State {
        var available: Int
        var nextTicket = 0
        var waiting: [(ticket: Int, continuation: CheckedContinuation<Void, any Error>)] = []
    }

    private let state: Mutex<State>

    init(capacity: Int) {
        precondition(capacity > 0, "at least one transfer must be allowed")
        state = Mutex(State(available: capacity))
    }

    /// Waits for a free slot and takes it; throws `CancellationError` (holding no slot) when
    /// the task is or gets cancelled before one is free.
    func acquire() async throws {
        let ticket = state.withLock { state in
            state.nextTicket += 1
            return state.nextTicket
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Checked under the lock: a cancellation after this point finds the ticket waiting.
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    guard state.available > 0 else {
                        state.waiting.append((ticket, continuation))
                        return nil
                    }
                    state.available -= 1
                    return .success(())
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.waiting.firstIndex(where: { $0.ticket == ticket }) else { return nil }
                return state.waiting.remove(at: index).continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    /// Gives a slot back, to the longest waiter if there is one.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            guard !state.waiting.isEmpty else {
                state.available += 1
                return nil
            }
            return state.waiting.removeFirst().continuation
        }
        next?.resume()
    }
}
