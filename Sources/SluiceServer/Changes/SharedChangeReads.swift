import SluiceStore
import Synchronization

/// One read of the change log for the watchers that would each make the same one: woken by
/// the same commit, at the same cursor, for the same caller, owner and prefix (a principal's
/// devices, or its many idle watches, all caught up). A thousand such watchers read once per
/// commit instead of a thousand times.
///
/// Only watchers woken at the same generation of the `ChangeSignal` share a read: one started
/// after that wake sees every change the wake announced, which one started before it might not.
final class SharedChangeReads: Sendable {
    /// Everything a read's answer depends on.
    struct Key: Hashable, Sendable {
        var principalID: Int64
        var owner: String
        var prefix: String
        var cursor: ChangeCursor
        var limit: Int
        var generation: UInt64
    }

    private let inFlight = Mutex<[Key: Task<ChangePage, any Error>]>([:])

    /// The page `read` returns for `key`: from the read in flight for the same key, or from a
    /// new one that later callers with that key share until it ends. The read is shared, so a
    /// caller cancelled meanwhile does not end it: it waits for the answer (one statement).
    func page(for key: Key, _ read: @escaping @Sendable () async throws -> ChangePage) async throws -> ChangePage {
        let task = inFlight.withLock { reads in
            if let running = reads[key] { return running }
            let started = Task { try await read() }
            reads[key] = started
            return started
        }
        defer { inFlight.withLock { reads in if reads[key] == task { reads[key] = nil } } }
        return try await task.value
    }
}
