import Foundation
import SluiceProto
import SluiceRPC

/// `sync --watch`: passes again whenever something changes. Local changes arrive through
/// inotify and wait for a quiet spell (`debounce`) so a file being written is sent once it
/// settles; remote changes arrive through WatchChanges, followed from the state file's
/// cursor and re-followed after the retry policy's backoff when the server goes away. Such a
/// round looks only at the paths the events name (`SyncScope`): those are scanned, hashed if
/// changed and listed, nothing else. A full pass runs first, after lost events or a failed
/// round, and every `rescanInterval`, in case an event was missed (a watch limit reached, a
/// directory created between scan and watch). A pass that fails transiently (the server is
/// away) is tried again with the same backoff, for as long as it takes. A pass refused
/// because a shared folder is no longer shared, or because it would empty a side, or one
/// whose directory is gone, stops the watch: passing again would fail again, and only the
/// user can decide.
///
/// Deletions wait for a full pass after a quiet spell (`quietSpell` without an event on either
/// side): a round while changes still arrive holds them back, and goes on sending the changes
/// (``SyncTriggers``). A side emptied over seconds (a slow `rm -r`, a loop of `sluice rm`) is
/// then judged whole, by ``EmptiedSideGuard``, rather than carried out a round at a time until
/// the other side is empty too.
public struct SyncWatcher: Sendable {
    public var debounce: Duration = .milliseconds(300)
    /// The longest a steady stream of local events delays a pass.
    public var longestDelay: Duration = .seconds(3)
    public var rescanInterval: Duration = .seconds(30)
    /// How long both sides must be still before held deletions are carried out.
    public var quietSpell: Duration = .seconds(2)
    /// The longest changes that never stop delay held deletions.
    public var longestQuietWait: Duration = .seconds(60)

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
        let triggers = SyncTriggers()
        let inotify = Inotify()
        inotify?.start { triggers.changed($0) }
        let (engine, report, rescan) = (engine, report, rescanInterval)
        let timing = SyncTriggers.Timing(
            debounce: debounce, longestDelay: longestDelay, quietSpell: quietSpell, longestQuietWait: longestQuietWait)
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
                var scope = SyncScope.everything
                // The first pass is a run's own: it may delete, under the guard.
                var quiet = true
                while true {
                    do {
                        let (summary, _) = try await engine.pass(scope, holdingDeletions: !quiet)
                        failures = 0
                        if engine.deletionsWaiting { triggers.fireWhenQuiet() }
                        if let inotify {
                            for directory in engine.directories {
                                inotify.watch(directory.isEmpty ? options.localRoot : options.localRoot + "/" + directory)
                            }
                        }
                        // Deferred actions get another pass soon.
                        if !summary.converged { triggers.fire() }
                    } catch let error where FailureKind(error) == .transient {
                        failures += 1
                        let delay = options.retry.delay(beforeRetry: min(failures, 6), using: &generator)
                        report(SyncEvent(kind: .retrying, path: "", detail: "\(error); again in \(Format.seconds(delay))"))
                        try await Task.sleep(for: delay)
                        scope = .everything
                        continue
                    } catch let error
                        where [.accessLost, .usage].contains(FailureKind(error))
                        || LocalScan.isRootMissing(error, root: options.localRoot)
                    {
                        // Passing again cannot help (a refusal, a directory gone, a setting the
                        // server will not take), and must not delete what it was stopped from deleting.
                        throw error
                    } catch let error where !(error is CancellationError) {
                        report(SyncEvent(kind: .failed, path: "", detail: "\(error)"))
                        try await Task.sleep(for: .seconds(1))
                        // What the failed round was to look at must not be lost.
                        triggers.fire()
                    }
                    repeat {
                        let pending = try await triggers.settled(timing)
                        scope = pending.full ? .everything : SyncScope.of(changed: pending.changed, root: options.localRoot)
                        quiet = pending.quiet
                    } while scope == .paths([])
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// A round over the paths that remote changes name; a full pass for anything else (a
    /// grant given or taken changes what can be seen).
    static func trigger(_ triggers: SyncTriggers, for changes: [Sluice_V1_Change], options: SyncOptions) {
        guard !changes.isEmpty else { return }
        var paths: [String] = []
        for change in changes {
            let name = Array(change.name.utf8)
            let prefix = Array(options.remotePrefix.utf8)
            guard change.kind == .versionCreated || change.kind == .objectDeleted, name.starts(with: prefix),
                  name.count > prefix.count
            else {
                triggers.everythingChanged()
                return
            }
            paths.append(options.localRoot + "/" + String(decoding: name.dropFirst(prefix.count), as: UTF8.self))
        }
        triggers.changed(paths: paths)
    }

    /// Follows the change feed and triggers a pass for every change; restarts from the
    /// listing's cursor when the saved one is too old.
    private func followRemote(triggers: SyncTriggers) async throws {
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
                        Self.trigger(triggers, for: response.changes, options: options)
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
