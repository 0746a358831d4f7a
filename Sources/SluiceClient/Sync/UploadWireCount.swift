import Synchronization

/// What one upload attempt put on the wire, counted from its progress events as they happen,
/// so that an attempt that fails part way (its file changed while it was read) still counts:
/// its bytes went out even though no summary comes back. Bytes of a partition that was sent
/// again count each time they were sent.
final class UploadWireCount: Sendable {
    private struct Counts {
        var bytes: Int64 = 0
        var calls = 0
    }

    private let counts = Mutex(Counts())

    var bytes: Int64 { counts.withLock { $0.bytes } }
    /// The session's creation and every partition call, finished or cut short (not the commit,
    /// which a failed attempt does not reach).
    var calls: Int { counts.withLock { $0.calls } }

    func observe(_ event: TransferEvent) {
        counts.withLock { counts in
            switch event {
            case .started(let start) where start.sessionID != nil: counts.calls += 1
            case .transferred(_, let bytes): counts.bytes += bytes
            case .partitionCompleted(_, _, let alreadyStored) where !alreadyStored: counts.calls += 1
            case .partitionRestarted: counts.calls += 1
            default: break
            }
        }
    }
}
