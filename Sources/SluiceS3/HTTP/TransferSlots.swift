import Synchronization

/// A counting semaphore for transfers: at most `capacity` hold a slot at once, and the rest
/// wait, in arrival order, without blocking a thread.
///
/// Every S3 transfer runs on a thread of its own (libcurl blocks), so this is what bounds the
/// threads and connections one sluiced opens to its bucket. A wait is not cancellable: slots are
/// released when transfers end, which their stall timeout bounds, and a cancelled caller gives
/// its slot straight back.
final class TransferSlots: Sendable {
    private struct State {
        var available: Int
        var waiting: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(capacity: Int) {
        precondition(capacity > 0, "at least one transfer must be allowed")
        state = Mutex(State(available: capacity))
    }

    /// Waits for a free slot and takes it.
    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state in
                guard state.available > 0 else {
                    state.waiting.append(continuation)
                    return false
                }
                state.available -= 1
                return true
            }
            if granted { continuation.resume() }
        }
    }

    /// Gives a slot back, to the longest waiter if there is one.
    func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.available += 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
