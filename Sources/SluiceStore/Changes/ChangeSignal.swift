import Synchronization

/// Wakes every local watcher when the change log may have grown. One `ChangeListener`
/// calls `wake()`; each watcher notes `generation`, reads the log, and if it found nothing
/// new waits for a later generation. A wake-up that comes between the read and the wait is
/// not lost: the generation has already moved on, so the wait returns at once. The listener
/// also calls `nudge()` now and then: waiters return without a new generation, for work they
/// do periodically while they wait, and wait again without reading the log.
public final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var closed = false
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Counts the wake-ups so far.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Whether `close()` was called: watchers should end (the server is shutting down).
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// How many watchers are waiting right now.
    public var waiting: Int { state.withLock { $0.waiters.count } }

    /// Wakes every waiting watcher.
    public func wake() {
        resumeWaiters(newGeneration: true)
    }

    /// Makes every waiting watcher's `wait` return (false), the generation unchanged.
    public func nudge() {
        resumeWaiters(newGeneration: false)
    }

    private func resumeWaiters(newGeneration: Bool) {
        let waiters = state.withLock { state in
            if newGeneration { state.generation &+= 1 }
            defer { state.waiters = [:] }
            return state.waiters
        }
        for waiter in waiters.values { waiter.resume() }
    }

    /// Wakes every watcher for the last time: from now on `isClosed` is true and `wait`
    /// returns at once, so that watchers end instead of holding a shutdown's drain.
    public func close() {
        state.withLock { $0.closed = true }
        wake()
    }

    /// Returns once a wake-up after `generation` happened, the signal is closed, or the task
    /// is cancelled (true), or at a `nudge()` (false).
    @discardableResult
    public func wait(after generation: UInt64) async -> Bool {
        let id = state.withLock { state in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.generation != generation || state.closed || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
        return state.withLock { $0.generation != generation || $0.closed } || Task.isCancelled
    }
}
