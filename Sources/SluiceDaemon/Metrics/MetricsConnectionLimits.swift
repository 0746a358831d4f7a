import NIOCore
import Synchronization

/// The bounds of the `--metrics-listen` listener. It is plain HTTP without authentication, so
/// anyone who reaches the port can connect: without bounds, idle connections would take every
/// descriptor of the process and stop the gRPC service (which caps its own connections at
/// `--max-connections`). A Prometheus server needs one connection, a few for a pair of them.
enum MetricsConnectionLimits {
    /// Connections open at once; one past it is closed as soon as it is accepted.
    static let maxConnections = 16
    /// How long a connection has to send a complete request, from when it was accepted or from
    /// the end of its previous response (which also bounds an idle keep-alive connection): a
    /// client that sends nothing, or trickles a request, is closed after this.
    static let requestTimeout: TimeAmount = .seconds(5)
}

/// Counts the listener's open connections against ``MetricsConnectionLimits/maxConnections``.
final class MetricsConnectionSlots: Sendable {
    private let open = Mutex(0)
    let limit: Int

    init(limit: Int = MetricsConnectionLimits.maxConnections) {
        self.limit = limit
    }

    /// Takes a slot; false when all are taken (the connection is to be closed at once).
    func take() -> Bool {
        open.withLock { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    /// Gives back a slot ``take()`` handed out.
    func give() {
        open.withLock { $0 -= 1 }
    }
}
