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
///
/// One holder (a client certificate: a principal) may reserve at most ``perHolderShare`` of a
/// budget: otherwise one client whose streams each declare a 4 MiB message and then send a
/// byte now and then could book the whole budget with a few kilobytes of traffic, and every
/// other client's large messages would wait and fail.
public final class RequestMemoryBudget: Sendable {
    /// The budget every server call shares unless told otherwise: 512 MiB, a quarter of it
    /// per client certificate.
    public static let process = RequestMemoryBudget(bytes: 512 * 1024 * 1024, perHolderShare: 128 * 1024 * 1024)

    /// How often a waiting call checks for room again.
    private static let retryInterval = Duration.milliseconds(10)

    public let bytes: Int
    /// The most one holder may reserve; nil for no share (a connection's budget, whose calls
    /// all have one holder).
    public let perHolderShare: Int?
    /// How long a call waits for room before it gives up.
    public let patience: Duration
    private let reserved = Mutex((total: 0, byHolder: [String: Int]()))

    public init(bytes: Int, perHolderShare: Int? = nil, patience: Duration = .seconds(10)) {
        self.bytes = bytes
        self.perHolderShare = perHolderShare
        self.patience = patience
    }

    /// Bytes reserved now, for tests and operators.
    public var reservedBytes: Int { reserved.withLock { $0.total } }

    /// Reserves `count` bytes for `holder`, waiting while the budget (or the holder's share) is
    /// spent, until `deadline` (a call reserving in several budgets waits `patience` in all,
    /// not in each). A single reservation larger than the whole budget, or the share, is
    /// granted once nothing else is reserved (by the holder, for the share).
    func reserve(_ count: Int, for holder: String, until deadline: ContinuousClock.Instant) async throws {
        while let spent = tryReserve(count, for: holder) {
            guard ContinuousClock.now < deadline else {
                switch spent {
                case .budget:
                    throw RPCError(
                        .unavailable,
                        "the server holds too many partly received request messages (\(bytes) bytes); try again")
                case .share(let share):
                    throw RPCError(
                        .unavailable,
                        "this client's partly received request messages hold its whole share of the server's "
                            + "memory for them (\(share) bytes); finish sending them, or try again")
                }
            }
            try await Task.sleep(for: Self.retryInterval)
        }
    }

    private enum Spent { case budget, share(Int) }

    /// Nil when reserved; else what was spent.
    private func tryReserve(_ count: Int, for holder: String) -> Spent? {
        reserved.withLock { reserved in
            let mine = reserved.byHolder[holder, default: 0]
            if let perHolderShare, mine > 0, mine + count > perHolderShare { return .share(perHolderShare) }
            guard reserved.total == 0 || reserved.total + count <= bytes else { return .budget }
            reserved.total += count
            reserved.byHolder[holder] = mine + count
            return nil
        }
    }

    func release(_ count: Int, for holder: String) {
        guard count > 0 else { return }
        reserved.withLock { reserved in
            reserved.total -= count
            let remaining = reserved.byHolder[holder, default: count] - count
            reserved.byHolder[holder] = remaining > 0 ? remaining : nil
        }
    }
}
