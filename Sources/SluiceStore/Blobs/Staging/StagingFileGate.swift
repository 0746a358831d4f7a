import Synchronization

/// Bounds how many staging files are open at once: each holds a file descriptor for as long as
/// its partition streams in, and under a burst of uploads descriptors run out (EMFILE) long before
/// anything else does. Calls past the bound wait their turn, first come first served, instead of
/// failing; a waiting call that is cancelled leaves the queue.
///
/// No one holder (a blob scope: one principal's bytes) may hold more than ``perHolderLimit``
/// slots, so a principal whose uploads stall (a trickling or paused client keeps its slots for as
/// long as its calls last) cannot make every other principal's uploads wait. A waiter whose
/// holder is at its share lets later waiters of other holders pass.
public final class StagingFileGate: Sendable {
    private struct Waiter {
        var id: UInt64
        var holder: String
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var available: Int
        let perHolderLimit: Int
        var held: [String: Int] = [:]
        var waiters: [Waiter] = []
        var cancelledBeforeWaiting: Set<UInt64> = []
        var nextID: UInt64 = 0

        /// Takes a slot for `holder` if one is free and the holder is under its share. No waiter
        /// that could take one is ever queued while one is free (``release(for:)`` hands a freed
        /// slot on at once), so taking here never passes a waiter that was first.
        mutating func take(for holder: String) -> Bool {
            guard available > 0, held[holder, default: 0] < perHolderLimit else { return false }
            available -= 1
            held[holder, default: 0] += 1
            return true
        }

        mutating func give(for holder: String) {
            available += 1
            let remaining = held[holder, default: 1] - 1
            held[holder] = remaining > 0 ? remaining : nil
        }

        /// The oldest waiter that may take the free slot, given it and taken off the queue.
        mutating func admitNext() -> CheckedContinuation<Void, any Error>? {
            for index in waiters.indices where take(for: waiters[index].holder) {
                return waiters.remove(at: index).continuation
            }
            return nil
        }
    }

    /// The most staging files open at once.
    public let limit: Int
    /// The most one holder may have open at once.
    public let perHolderLimit: Int
    private let state: Mutex<State>

    /// A gate of `limit` slots, of which one holder may take `perHolderLimit` (all of them when nil).
    public init(limit: Int, perHolderLimit: Int? = nil) {
        precondition(limit >= 1, "a StagingFileGate needs at least one file")
        self.limit = limit
        self.perHolderLimit = min(max(perHolderLimit ?? limit, 1), limit)
        state = Mutex(State(available: limit, perHolderLimit: self.perHolderLimit))
    }

    /// The share of `limit` slots one principal may hold when principals do not share a blob
    /// scope: all but a quarter (at least one slot is always left for the others).
    public static func share(of limit: Int) -> Int {
        max(limit - max(limit / 4, 1), 1)
    }

    /// Waits for a free slot for `holder`; the caller must `release(for:)` it exactly once.
    func acquire(for holder: String) async throws {
        let id = state.withLock { state -> UInt64? in
            if state.take(for: holder) { return nil }
            defer { state.nextID += 1 }
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case cancelled, admitted, queued }
                let outcome = state.withLock { state -> Outcome in
                    if state.cancelledBeforeWaiting.remove(id) != nil { return .cancelled }
                    // A slot freed since the first look (its release found no one queued).
                    if state.take(for: holder) { return .admitted }
                    state.waiters.append(Waiter(id: id, holder: holder, continuation: continuation))
                    return .queued
                }
                switch outcome {
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .admitted: continuation.resume()
                case .queued: break
                }
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

    /// Frees `holder`'s slot: the oldest waiting call that may take it gets it.
    func release(for holder: String) {
        let next = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            state.give(for: holder)
            return state.admitNext()
        }
        next?.resume()
    }
}
