import SluiceMetrics
import Synchronization

/// Counters a server transport keeps about itself, for operators and for tests that prove
/// memory stays bounded. The gauges of open connections and streams in the exported metrics
/// move here too, so they always agree with these counters.
public final class ServerTransportStats: Sendable {
    /// A consistent copy of the counters.
    public struct Snapshot: Sendable {
        /// Calls whose handlers are running.
        public var activeCalls: Int
        /// The most request bytes ever held for one stream: received, not yet taken by its
        /// handler. Flow control keeps it at or under the stream window.
        public var maxBufferedStreamBytes: Int
        /// Connections currently open.
        public var openConnections: Int
        /// The largest stream window any connection grew to (0 while none has grown).
        public var largestGrownStreamWindow: Int
    }

    private let counters = Mutex(
        Snapshot(activeCalls: 0, maxBufferedStreamBytes: 0, openConnections: 0, largestGrownStreamWindow: 0))

    public init() {}

    public var snapshot: Snapshot { counters.withLock { $0 } }

    /// Counts a call as started unless `limit` calls are already running.
    func tryCallStarted(limit: Int) -> Bool {
        let started = counters.withLock { counters in
            guard counters.activeCalls < limit else { return false }
            counters.activeCalls += 1
            return true
        }
        if started { SluiceMetrics.streamOpened() }
        return started
    }

    func callEnded() {
        counters.withLock { $0.activeCalls -= 1 }
        SluiceMetrics.streamClosed()
    }

    func connectionOpened() {
        counters.withLock { $0.openConnections += 1 }
        SluiceMetrics.connectionOpened()
    }

    func connectionClosed() {
        counters.withLock { $0.openConnections -= 1 }
        SluiceMetrics.connectionClosed()
    }

    /// A connection closed on accept because the connection limit was reached.
    func connectionRefused() { SluiceMetrics.connectionRefused() }

    func observeGrownStreamWindow(_ window: Int) {
        counters.withLock { $0.largestGrownStreamWindow = max($0.largestGrownStreamWindow, window) }
        SluiceMetrics.streamWindowGrew()
    }

    func observeBuffered(_ bytes: Int) {
        counters.withLock { $0.maxBufferedStreamBytes = max($0.maxBufferedStreamBytes, bytes) }
    }
}
