import Synchronization

/// A dictionary split into shards, each under its own lock: a lookup locks one shard only,
/// so callers working on different keys rarely wait on each other (no lock shared by all).
final class ShardedMap<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private final class Shard: Sendable {
        let map = Mutex<[Key: Value]>([:])
    }

    private let shards: [Shard]

    init(shards: Int = 64) {
        self.shards = (0..<max(1, shards)).map { _ in Shard() }
    }

    /// Runs `body` on the shard holding `key`, under its lock.
    func withShard<Result>(of key: Key, _ body: (inout [Key: Value]) -> Result) -> Result {
        var hasher = Hasher()
        hasher.combine(key)
        let index = Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))
        return shards[index].map.withLock { body(&$0) }
    }

    /// Takes every entry out, shard by shard.
    func drain() -> [Key: Value] {
        var all: [Key: Value] = [:]
        for shard in shards {
            let taken = shard.map.withLock { map in
                defer { map.removeAll(keepingCapacity: true) }
                return map
            }
            all.merge(taken) { $1 }
        }
        return all
    }
}
