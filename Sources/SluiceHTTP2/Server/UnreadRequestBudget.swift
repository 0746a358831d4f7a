import SluiceMetrics
import Synchronization

/// Bounds the request bytes a server process holds that no handler has taken yet: received
/// from clients within their flow-control windows, waiting in streams whose handlers are busy
/// (with the database, the disk, or a response the client is slow to read).
///
/// Flow control bounds them per connection (its window, 64 MiB by default), which is no bound
/// for the process: fifty busy connections may hold 3 GiB. Past `limit`, a connection that
/// itself holds unread bytes stops reading its socket (TCP then slows its client) until its
/// handlers have taken them; connections holding none read on, so an idle client is never
/// held back by a busy one. A held connection still reads once a second, so a handler that
/// waits on its own peer (for window to send its response, say) is never stuck behind the hold.
public final class UnreadRequestBudget: Sendable {
    /// The unread bytes past which connections holding some stop reading.
    public let limit: Int
    private let counters = Mutex((current: 0, peak: 0))

    public init(limit: Int) {
        precondition(limit > 0, "an unread request budget needs a positive limit")
        self.limit = limit
    }

    /// Unread request bytes held now, across every connection.
    public var current: Int { counters.withLock { $0.current } }

    /// The most unread request bytes ever held at once, for tests and operators.
    public var peak: Int { counters.withLock { $0.peak } }

    /// Whether the process holds more than `limit`.
    var isExceeded: Bool { counters.withLock { $0.current > limit } }

    /// Bytes arrived (positive) or were taken or dropped (negative).
    func adjust(by delta: Int) {
        counters.withLock { counters in
            counters.current += delta
            counters.peak = max(counters.peak, counters.current)
        }
        SluiceMetrics.unreadRequestBytesChanged(by: delta)
    }
}
