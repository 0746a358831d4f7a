import Synchronization

/// Bounds the memory that request messages still being received may hold across the whole
/// process.
///
/// A message's bytes are taken from the transport (and their window handed back) as they
/// arrive, so flow control alone would let every stream of every connection hold a
/// partial message of up to the message size limit: 256 incomplete 4 MiB messages are 1 GiB
/// on one connection. Before a call buffers a message, it reserves the length the message
/// prefix declares; while the budget is spent it waits, holding nothing but the prefix, and
/// its client is slowed by flow control. A call that holds a reservation can always finish
/// its message, so calls never wait on each other; a client that never finishes its
/// message is cut off by the transport's stall timeout, which frees its reservation.
public final class RequestMemoryBudget: Sendable {
    /// The budget every server call shares unless told otherwise: 512 MiB.
    public static let process = RequestMemoryBudget(bytes: 512 * 1024 * 1024)

    /// How often a waiting call checks for room again.
    private static let retryInterval = Duration.milliseconds(10)

    public let bytes: Int
    private let reserved = Mutex(0)

    public init(bytes: Int) {
        self.bytes = bytes
    }

    /// Bytes reserved now, for tests and operators.
    public var reservedBytes: Int { reserved.withLock { $0 } }

    /// Reserves `count` bytes, waiting while the budget is spent. A single reservation
    /// larger than the whole budget is granted once nothing else is reserved.
    func reserve(_ count: Int) async throws {
        while !tryReserve(count) {
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
