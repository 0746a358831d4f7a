import Synchronization

/// When `sync --watch` passes next, and over what: local events (with the paths they name),
/// remote changes, the rescan timer and the watcher's own requests.
///
/// Two kinds of round, kept apart so that neither holds the other up:
/// - A **round** follows activity: once `debounce` passed without another event (or
///   `longestDelay` since the first), it looks at what the events name. It holds deletions back.
/// - A **quiet pass**, asked for while deletions are held back, waits until both sides have
///   been still for `quietSpell` (or `longestQuietWait` since it was first asked for). It is a
///   full pass that may delete.
///
/// Edits keep going out within a few seconds while a deletion waits: when one wait held both,
/// a folder with steady activity (a log being written, a second person typing) synced nothing
/// for a minute after each deletion.
final class SyncTriggers: Sendable {
    /// The waits (see the type's notes).
    struct Timing: Sendable {
        var debounce: Duration
        var longestDelay: Duration
        var quietSpell: Duration
        var longestQuietWait: Duration
    }

    /// What the next pass looks at: everything, or the paths named; and whether it came after
    /// a quiet spell, so that it may delete.
    struct Pending: Sendable, Equatable {
        var full: Bool
        var changed: Set<PathKey>
        var quiet: Bool
    }

    /// What has been asked for since the last pass; its decisions take the time as an argument.
    struct State: Sendable {
        /// When the first request of the next round came; nil when none is pending.
        var firstPending: ContinuousClock.Instant?
        /// When the last request of the next round came.
        var lastRequest: ContinuousClock.Instant?
        /// The last event on either side: what a quiet spell is measured from.
        var lastActivity: ContinuousClock.Instant?
        /// When a quiet pass was first asked for since the last one; nil when none is wanted.
        var quietWanted: ContinuousClock.Instant?
        /// Absolute paths named by events since the last pass.
        var changed: Set<PathKey> = []
        /// Whether the next round must look at everything.
        var full = false

        /// Notes a request for a round; `activity` when it is an event on either side (what
        /// a quiet spell waits out), not the watcher's own timer or retry.
        mutating func request(at now: ContinuousClock.Instant, activity: Bool, _ change: (inout State) -> Void) {
            change(&self)
            if firstPending == nil { firstPending = now }
            lastRequest = now
            if activity { lastActivity = now }
        }

        /// Notes that held deletions want a quiet pass.
        mutating func wantQuiet(at now: ContinuousClock.Instant) {
            if quietWanted == nil { quietWanted = now }
        }

        /// The pass due at `now`, if one is, taking what it covers out of the state.
        mutating func take(at now: ContinuousClock.Instant, _ timing: Timing) -> Pending? {
            if let wanted = quietWanted {
                let stillSince = max(wanted, lastActivity ?? wanted)
                if now - stillSince >= timing.quietSpell || now - wanted >= timing.longestQuietWait {
                    self = State()
                    return Pending(full: true, changed: [], quiet: true)
                }
            }
            guard let first = firstPending, let last = lastRequest,
                  now - last >= timing.debounce || now - first >= timing.longestDelay
            else { return nil }
            defer {
                firstPending = nil
                lastRequest = nil
                changed = []
                full = false
            }
            return Pending(full: full, changed: changed, quiet: false)
        }
    }

    private let state = Mutex(State())
    private static let poll: Duration = .milliseconds(50)
    /// Paths remembered at most; past that the next round is a full one anyway.
    private static let mostPaths = SyncScope.mostPaths + 1

    /// Asks for a full pass of the watcher's own (the rescan timer, a retry, deferred actions).
    func fire() {
        record(activity: false) { $0.full = true }
    }

    /// Asks for a full pass because something happened that no path names (a grant given or
    /// taken on the other side).
    func everythingChanged() {
        record(activity: true) { $0.full = true }
    }

    /// Asks for a full pass once both sides have been still for a quiet spell.
    func fireWhenQuiet() {
        let now = ContinuousClock.now
        state.withLock { $0.wantQuiet(at: now) }
    }

    /// Asks for a round over what the events name (a full one if events were lost).
    func changed(_ reports: [Inotify.Report]) {
        record(activity: true) { state in
            for report in reports {
                switch report {
                case .changed(let path) where state.changed.count < Self.mostPaths: state.changed.insert(PathKey(path))
                case .changed: state.full = true
                case .lost: state.full = true
                }
            }
        }
    }

    /// Asks for a round over these absolute paths.
    func changed(paths: some Sequence<String>) {
        changed(paths.map { .changed($0) })
    }

    private func record(activity: Bool, _ change: (inout State) -> Void) {
        let now = ContinuousClock.now
        state.withLock { $0.request(at: now, activity: activity, change) }
    }

    /// Waits until a round or a quiet pass is due (see the type's notes) and takes it.
    func settled(_ timing: Timing) async throws -> Pending {
        while true {
            try await Task.sleep(for: Self.poll)
            let now = ContinuousClock.now
            if let ready = state.withLock({ $0.take(at: now, timing) }) { return ready }
        }
    }
}
