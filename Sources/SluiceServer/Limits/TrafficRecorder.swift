import SluiceStore

/// Adds up the message bytes of finished calls per principal in memory and writes them to
/// the day's traffic rows (`UsageLedger.recordTraffic`) on `flush`, which the server runs
/// every second and before it answers a usage request. A crash loses at most the bytes of
/// the last second: traffic is a statistic, not a quota.
public final class TrafficRecorder: Sendable {
    private let pending = ShardedMap<Int64, Counts>()
    private let ledger: UsageLedger

    struct Counts: Sendable {
        var uploaded: Int64 = 0
        var downloaded: Int64 = 0
    }

    public init(ledger: UsageLedger) {
        self.ledger = ledger
    }

    func add(principal id: Int64, uploaded: Int64, downloaded: Int64) {
        guard uploaded > 0 || downloaded > 0 else { return }
        pending.withShard(of: id) { map in
            map[id, default: Counts()].uploaded += uploaded
            map[id, default: Counts()].downloaded += downloaded
        }
    }

    /// Writes what has accumulated; on failure puts it back for the next flush.
    public func flush() async throws {
        let taken = pending.drain()
        guard !taken.isEmpty else { return }
        do {
            try await ledger.recordTraffic(taken.mapValues { ($0.uploaded, $0.downloaded) })
        } catch {
            for (id, counts) in taken { add(principal: id, uploaded: counts.uploaded, downloaded: counts.downloaded) }
            throw error
        }
    }

    /// Flushes every `interval` until cancelled.
    public func run(every interval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            try? await flush()
        }
        try? await flush()
    }
}
