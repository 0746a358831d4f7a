import Synchronization

/// Bounds the memory that request messages still being received may hold across the whole
/// process.
///
/// A message's bytes are taken from the transport (and their window handed back) as they
/// arrive, so flow control alone would let every stream of every connection hold a
/// partial message of up to the message size limit: 256 incomplete 4 MiB messages are 1 GiB
/// on one connection. Before a call buffers a message, it reserves the length the message
/// prefix declares; while the budget is spent it waits, holding nothing but the prefix, and
/// its client is slowed by flow control. A call that holds a reservation can finish its
/// message unless its bytes are stuck behind waiting calls' bytes in the connection's
/// flow-control window; so a call waits at most `patience`, then fails with UNAVAILABLE
/// (clients retry it) and its unread bytes free the window. A client that never finishes
/// its message is cut off by the transport's stall timeout, which frees its reservation.
public final class RequestMemoryBudget: Sendable {
    /// The budget every server call shares unless told otherwise: 512 MiB.
    public static let process = RequestMemoryBudget(bytes: 512 * 1024 * 1024)

    /// How often a waiting call checks for room again.
    private static let retryInterval = Duration.milliseconds(10)

    public let bytes: Int
    /// How long a call waits for room before it gives up.
    public let patience: Duration
    private let reserved = Mutex(0)

    public init(bytes: Int, patience: Duration = .seconds(10)) {
        self.bytes = bytes
        self.patience = patience
    }

    /// Bytes reserved now, for tests and operators.
    public var reservedBytes: Int { reserved.withLock { $0 } }

    /// Reserves `count` bytes, waiting while the budget is spent. A single reservation
    /// larger than the whole budget is granted once nothing else is reserved.
    func reserve(_ count: Int) async throws {
        let deadline = ContinuousClock.now + patience
        while !tryReserve(count) {
            guard ContinuousClock.now < deadline else {
                throw RPCError(
                    .unavailable,
                    "the server holds too many partly received request messages (\(bytes) bytes); try again")
            }
            try await Task.sleep(for: Self.retryInterval)
        }
    }

    private func tryReserve(_ count: Int) -> Bool {
        reserved.withLock { reserved in
            guard reserved == 0 || reserved + count <= bytes else { return false }
            reserved += count
            return true
        }
    }

    func release(_ count: Int) {
        guard count > 0 else { return }
        reserved.withLock { $0 -= count }
    }
}
