import Synchronization

/// Wakes every local watcher when the change log may have grown. One `ChangeListener`
/// calls `wake()`; each watcher notes `generation`, reads the log, and if it found nothing
/// new waits for a later generation. A wake-up that comes between the read and the wait is
/// not lost: the generation has already moved on, so the wait returns at once.
///
/// The listener also calls `nudge()` now and then, for work watchers do periodically while they
/// wait (the server admits their principal again). That work is the same for every watcher of
/// a group (the server's groups are a principal's watchers whose certificates expire at one
/// moment), so a nudge wakes one waiter per group, without a new generation: it does the work
/// for all of them, and wakes the rest with `nudge(group:)` only when they must act on what it
/// found. Waking every waiter at every nudge cost a thousand
/// idle watchers of one principal ten times the CPU they cost without nudges.
public final class ChangeSignal: Sendable {
    private typealias Waiter = CheckedContinuation<Void, Never>

    private struct State {
        var generation: UInt64 = 0
        var closed = false
        var nextWaiter: UInt64 = 0
        /// The waiting watchers, by group and then by id.
        var groups: [Int64: [UInt64: Waiter]] = [:]

        /// Removes and returns the waiter `id` of `group`, dropping the group once it is empty.
        mutating func remove(_ id: UInt64, of group: Int64) -> Waiter? {
            let waiter = groups[group]?.removeValue(forKey: id)
            if groups[group]?.isEmpty == true { groups[group] = nil }
            return waiter
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts the wake-ups so far.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Whether `close()` was called: watchers should end (the server is shutting down).
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// How many watchers are waiting right now.
    public var waiting: Int { state.withLock { $0.groups.values.reduce(0) { $0 + $1.count } } }

    /// Wakes every waiting watcher.
    public func wake() {
        let groups = state.withLock { state in
            state.generation &+= 1
            defer { state.groups = [:] }
            return state.groups
        }
        for waiters in groups.values {
            for waiter in waiters.values { waiter.resume() }
        }
    }

    /// Makes one waiting watcher of each group return from `wait` (false), the generation
    /// unchanged, to do its group's periodic work.
    public func nudge() {
        let chosen = state.withLock { state in
            let firsts = state.groups.compactMap { group, waiters in waiters.keys.first.map { (group, $0) } }
            return firsts.compactMap { group, id in state.remove(id, of: group) }
        }
        for waiter in chosen { waiter.resume() }
    }

    /// Makes every waiting watcher of `group` return from `wait` (false), the generation
    /// unchanged: what one of them found at a `nudge()` concerns them all.
    public func nudge(group: Int64) {
        let waiters = state.withLock { $0.groups.removeValue(forKey: group) } ?? [:]
        for waiter in waiters.values { waiter.resume() }
    }

    /// Wakes every watcher for the last time: from now on `isClosed` is true and `wait`
    /// returns at once, so that watchers end instead of holding a shutdown's drain.
    public func close() {
        state.withLock { $0.closed = true }
        wake()
    }

    /// Returns once a wake-up after `generation` happened, the signal is closed, or the task
    /// is cancelled (true), or at a nudge of the waiter's `group` (false).
    @discardableResult
    public func wait(after generation: UInt64, group: Int64) async -> Bool {
        let id = state.withLock { state in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != generation || state.closed || Task.isCancelled { return true }
                    state.groups[group, default: [:]][id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.remove(id, of: group) }?.resume()
        }
        return state.withLock { $0.generation != generation || $0.closed } || Task.isCancelled
    }
}
