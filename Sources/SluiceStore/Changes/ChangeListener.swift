import Foundation
import SluiceBackoff
import SluicePostgres
import Synchronization

/// The one LISTEN connection of a sluiced: a thread of its own waits on the socket for
/// NOTIFY `sluice_changes` (sent by every instance on the database as its changes commit)
/// and wakes every local watcher through a `ChangeSignal`. Watchers never poll the database.
///
/// When the connection drops it reconnects on the pool's backoff
/// (`PostgresPool.reconnectBackoff`: at once after a lone drop, less and less often while the
/// database stays away) and then wakes every watcher, which re-reads from its cursor: a
/// notification missed meanwhile loses nothing. Every `tick` it also wakes them, so that
/// watchers send their heartbeats. Every `pulse` it nudges them (`ChangeSignal.nudge()`): one
/// watcher of each group wakes without reading the log, to admit its caller again for the whole
/// group (a disabled principal's idle watches end then).
public final class ChangeListener: Sendable {
    public let signal: ChangeSignal
    private let url: String
    private let tick: Duration
    private let pulse: Duration
    private let stopped = Atomic<Bool>(false)
    private let onError: @Sendable (Error) -> Void

    /// - Parameters:
    ///   - url: the database's connection string (the listener opens its own connection).
    ///   - tick: how often every watcher is woken even without a change.
    ///   - pulse: how often waiting watchers are nudged (at the half-second granularity of
    ///     the wait for notifications).
    ///   - onError: told about each lost or failed connection (for the log).
    public init(
        url: String, signal: ChangeSignal = ChangeSignal(), tick: Duration = .seconds(30),
        pulse: Duration = .seconds(1), onError: @escaping @Sendable (Error) -> Void
    ) {
        self.url = url
        self.signal = signal
        self.tick = tick
        self.pulse = pulse
        self.onError = onError
    }

    /// Starts the listening thread.
    public func start() {
        let thread = Thread { [self] in run() }
        thread.name = "sluice-change-listener"
        thread.start()
    }

    /// Stops the thread within about half a second.
    public func stop() {
        stopped.store(true, ordering: .relaxed)
    }

    private func run() {
        var failures = 0
        while !stopped.load(ordering: .relaxed) {
            do {
                let connection = try PostgresConnection(
                    url: url, overrides: ["application_name": "sluiced-change-listener", "connect_timeout": "5"])
                try connection.execute("LISTEN \(ChangeLog.channel)")
                failures = 0
                // Whatever committed while this connection was not listening is found by a re-read.
                signal.wake()
                var lastTick = ContinuousClock.now
                var lastPulse = lastTick
                while !stopped.load(ordering: .relaxed) {
                    let payloads = try connection.waitForNotifications(timeout: .milliseconds(500))
                    let now = ContinuousClock.now
                    if !payloads.isEmpty || now - lastTick >= tick {
                        lastTick = now
                        lastPulse = now
                        signal.wake()
                    } else if now - lastPulse >= pulse {
                        lastPulse = now
                        signal.nudge()
                    }
                }
            } catch {
                onError(error)
                failures += 1
                pause(PostgresPool.reconnectBackoff.delay(beforeRetry: failures))
            }
        }
    }

    /// Sleeps for `duration`, or until `stop()`, whichever comes first.
    private func pause(_ duration: Duration) {
        let end = ContinuousClock.now + duration
        while !stopped.load(ordering: .relaxed), ContinuousClock.now < end {
            Thread.sleep(forTimeInterval: min(0.1, (end - ContinuousClock.now) / .seconds(1)))
        }
    }
}
