import Synchronization

/// Bounds a resource that calls hold while they run — staging files (each an open descriptor for
/// as long as its partition streams in), bytes of read buffers — to `limit` units at once. Calls
/// past the bound wait their turn instead of failing; a waiting call that is cancelled leaves the
/// queue. Waiters are served in the order they came among those that fit in what is free.
///
/// No one holder (a principal, or a blob scope: one principal's bytes) may hold more than
/// ``perHolderLimit`` units, so a principal whose calls stall (a trickling or paused client keeps
/// what it took for as long as its calls last) cannot make every other principal wait. A waiter
/// whose holder is at its share lets later waiters of other holders pass.
public final class FairShareGate: Sendable {
    private struct Waiter {
        var id: UInt64
        var units: Int
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

        /// Takes `units` for `holder` if they are free and the holder stays within its share. No
        /// waiter that could take its units is ever queued while they are free (``release(_:for:)``
        /// hands freed units on at once), so taking here never passes a waiter that fits.
        mutating func take(_ units: Int, for holder: String) -> Bool {
            guard available >= units, held[holder, default: 0] + units <= perHolderLimit else { return false }
            available -= units
            held[holder, default: 0] += units
            return true
        }

        mutating func give(_ units: Int, for holder: String) {
            available += units
            let remaining = held[holder, default: units] - units
            held[holder] = remaining > 0 ? remaining : nil
        }

        /// The oldest waiters that fit in what is free, given their units and taken off the queue.
        mutating func admitWaiting() -> [CheckedContinuation<Void, any Error>] {
            var admitted: [CheckedContinuation<Void, any Error>] = []
            var index = waiters.startIndex
            while index < waiters.endIndex {
                if take(waiters[index].units, for: waiters[index].holder) {
                    admitted.append(waiters.remove(at: index).continuation)
                } else {
                    index += 1
                }
            }
            return admitted
        }
    }

    /// The most units held at once.
    public let limit: Int
    /// The most units one holder may hold at once.
    public let perHolderLimit: Int
    private let state: Mutex<State>

    /// A gate of `limit` units, of which one holder may take `perHolderLimit` (all of them when nil).
    public init(limit: Int, perHolderLimit: Int? = nil) {
        precondition(limit >= 1, "a FairShareGate needs at least one unit")
        self.limit = limit
        self.perHolderLimit = min(max(perHolderLimit ?? limit, 1), limit)
        state = Mutex(State(available: limit, perHolderLimit: self.perHolderLimit))
    }

    /// All but a quarter of `limit` (at least one unit is always left for the others).
    public static func share(of limit: Int) -> Int {
        max(limit - max(limit / 4, 1), 1)
    }

    /// What a request for `units` takes: a request past one holder's share takes the whole
    /// share (it could never be granted otherwise).
    public func units(for requested: Int) -> Int {
        min(max(requested, 1), perHolderLimit)
    }

    /// Waits until `units(for: requested)` units are free for `holder`; the caller must give
    /// them back with `release(_:for:)` exactly once, passing what `units(for:)` answered.
    func acquire(_ requested: Int = 1, for holder: String) async throws {
        let units = units(for: requested)
        let id = state.withLock { state -> UInt64? in
            if state.take(units, for: holder) { return nil }
            defer { state.nextID += 1 }
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case cancelled, admitted, queued }
                let outcome = state.withLock { state -> Outcome in
                    if state.cancelledBeforeWaiting.remove(id) != nil { return .cancelled }
                    // Units freed since the first look (their release found no one queued).
                    if state.take(units, for: holder) { return .admitted }
                    state.waiters.append(Waiter(id: id, units: units, holder: holder, continuation: continuation))
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

    /// Runs `body` holding `units(for: requested)` units for `holder`, waited for first, given
    /// back when it returns or throws.
    public func holding<Result>(
        _ requested: Int, for holder: String, _ body: () async throws -> Result
    ) async throws -> Result {
        try await acquire(requested, for: holder)
        defer { release(units(for: requested), for: holder) }
        return try await body()
    }

    /// Gives back `holder`'s `units` (as `units(for:)` answered): waiting calls that now fit get them.
    func release(_ units: Int = 1, for holder: String) {
        let admitted = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.give(units, for: holder)
            return state.admitWaiting()
        }
        for continuation in admitted { continuation.resume() }
    }
}
