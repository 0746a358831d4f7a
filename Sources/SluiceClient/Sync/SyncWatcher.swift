import Foundation
import SluiceRPC
import Synchronization

/// `sync --watch`: passes again whenever something changes. Local changes arrive through
/// inotify and wait for a quiet spell (`debounce`) so a file being written is sent once it
/// settles; remote changes arrive through WatchChanges, followed from the state file's
/// cursor and re-followed after the retry policy's backoff when the server goes away.
/// A pass that fails transiently (the server is away) is tried again with the same backoff,
/// for as long as it takes. A full rescan also runs every `rescanInterval`, in case an event
/// was missed (a watch limit reached, a directory created between scan and watch).
public struct SyncWatcher: Sendable {
    public var debounce: Duration = .milliseconds(300)
    /// The longest a steady stream of local events delays a pass.
    public var longestDelay: Duration = .seconds(3)
    public var rescanInterval: Duration = .seconds(30)

    private let engine: SyncEngine
    private let client: RPCClient
    private let report: @Sendable (SyncEvent) -> Void

    public init(engine: SyncEngine, client: RPCClient, report: @escaping @Sendable (SyncEvent) -> Void) {
        self.engine = engine
        self.client = client
        self.report = report
    }

    /// Runs until cancelled.
    public func run() async throws {
        let triggers = Triggers()
        let inotify = Inotify()
        inotify?.start { triggers.fire() }
        let (engine, report, rescan, debounce, longestDelay) = (engine, report, rescanInterval, debounce, longestDelay)
        let options = engine.options
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                while true {
                    try await Task.sleep(for: rescan)
                    triggers.fire()
                }
            }
            group.addTask { try await followRemote(triggers: triggers) }
            group.addTask {
                var generator = SystemRandomNumberGenerator()
                var failures = 0
                while true {
                    do {
                        let (summary, _) = try await engine.pass()
                        failures = 0
                        if let inotify {
                            for directory in engine.directories { inotify.watch(options.localRoot + "/" + directory) }
                        }
                        // Deferred actions get another pass soon.
                        if !summary.converged { triggers.fire() }
                    } catch let error where FailureKind(error) == .transient {
                        failures += 1
                        let delay = options.retry.delay(beforeRetry: min(failures, 6), using: &generator)
                        report(SyncEvent(kind: .retrying, path: "", detail: "\(error); again in \(Format.seconds(delay))"))
                        try await Task.sleep(for: delay)
                        continue
                    } catch let error where !(error is CancellationError) {
                        report(SyncEvent(kind: .failed, path: "", detail: "\(error)"))
                        try await Task.sleep(for: .seconds(1))
                    }
                    try await triggers.settled(debounce: debounce, longestDelay: longestDelay)
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// Wake-ups for the next pass: local events, remote changes, the rescan timer.
    final class Triggers: Sendable {
        private struct State {
            var firstPending: ContinuousClock.Instant?
            var lastEvent = ContinuousClock.now
        }

        private let state = Mutex(State())
        private static let poll: Duration = .milliseconds(50)

        func fire() {
            let now = ContinuousClock.now
            state.withLock { state in
                if state.firstPending == nil { state.firstPending = now }
                state.lastEvent = now
            }
        }

        /// Waits for a trigger, then until `debounce` passed without another (or
        /// `longestDelay` since the first), and takes them all.
        func settled(debounce: Duration, longestDelay: Duration) async throws {
            while true {
                try await Task.sleep(for: Self.poll)
                let now = ContinuousClock.now
                let ready = state.withLock { state -> Bool in
                    guard let first = state.firstPending else { return false }
                    guard now - state.lastEvent >= debounce || now - first >= longestDelay else { return false }
                    state.firstPending = nil
                    return true
                }
                if ready { return }
            }
        }
    }

    /// Follows the change feed and triggers a pass for every change; restarts from the
    /// listing's cursor when the saved one is too old.
    private func followRemote(triggers: Triggers) async throws {
        let options = engine.options
        let engine = engine
        var generator = SystemRandomNumberGenerator()
        // A first sync takes its cursor from its listing: wait for it (a while), so nothing
        // committed between that listing and the watch is missed.
        for _ in 0..<200 where engine.cursor.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
        }
        while true {
            do {
                try await ChangeFollower(client: client, retry: options.retry).follow(
                    from: engine.cursor, owner: options.owner, prefix: options.remotePrefix,
                    onResponse: { response in
                        if !response.changes.isEmpty { triggers.fire() }
                        try engine.saveCursor(response.cursor)
                    })
            } catch let error as RPCError where error.code == .outOfRange {
                try engine.saveCursor("")
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                try await Task.sleep(for: options.retry.delay(beforeRetry: 4, using: &generator))
            }
        }
    }
}
