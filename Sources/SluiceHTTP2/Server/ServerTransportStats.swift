import Synchronization

/// Counters a server transport keeps about itself, for operators and for tests that prove
/// memory stays bounded.
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
    }

    private let counters = Mutex(Snapshot(activeCalls: 0, maxBufferedStreamBytes: 0, openConnections: 0))

    public init() {}

    public var snapshot: Snapshot { counters.withLock { $0 } }

    func callStarted() { counters.withLock { $0.activeCalls += 1 } }
    func callEnded() { counters.withLock { $0.activeCalls -= 1 } }
    func connectionOpened() { counters.withLock { $0.openConnections += 1 } }
    func connectionClosed() { counters.withLock { $0.openConnections -= 1 } }

    func observeBuffered(_ bytes: Int) {
        counters.withLock { $0.maxBufferedStreamBytes = max($0.maxBufferedStreamBytes, bytes) }
    }
}
