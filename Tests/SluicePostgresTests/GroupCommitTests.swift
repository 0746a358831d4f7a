import Foundation
import SluicePostgres
import SluiceTestSupport
import Testing

@Suite(.timeLimit(.minutes(5))) struct GroupCommitTests {
    private struct Refused: Error {}

    /// Forty items arriving together: all committed, in fewer transactions than items, the
    /// failing ones rolled back alone and failed alone, and every epilogue run after the bodies.
    @Test func itemsThatArriveTogetherShareATransactionAndFailAlone() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 2)
            try await pool.withConnection { c in
                _ = try c.execute("CREATE TABLE items (n int PRIMARY KEY, txid bigint NOT NULL)")
                _ = try c.execute("CREATE TABLE epilogues (n int PRIMARY KEY, items_seen bigint NOT NULL)")
            }
            let group = GroupCommit(pool: pool, maxBatch: 16)
            let outcomes = await withTaskGroup(of: (Int, Result<Int64, any Error>).self) { tasks in
                for n in 0..<40 {
                    tasks.addTask {
                        do {
                            let txid = try await group.run(order: String(format: "%03d", n)) { c in
                                let txid = try c.execute("SELECT txid_current() AS t").rows[0].int("t")
                                _ = try c.execute("INSERT INTO items (n, txid) VALUES ($1, $2)", [.int(Int64(n)), .int(txid)])
                                if n % 7 == 3 { throw Refused() }
                                return GroupedWork(txid) { c in
                                    _ = try c.execute("""
                                        INSERT INTO epilogues (n, items_seen)
                                        SELECT $1, count(*) FROM items WHERE txid = txid_current()
                                        """, [.int(Int64(n))])
                                }
                            }
                            return (n, .success(txid))
                        } catch {
                            return (n, .failure(error))
                        }
                    }
                }
                return await tasks.reduce(into: [Int: Result<Int64, any Error>]()) { $0[$1.0] = $1.1 }
            }
            let refused = Set((0..<40).filter { $0 % 7 == 3 })
            for (n, outcome) in outcomes {
                switch outcome {
                case .success: #expect(!refused.contains(n), "item \(n) should have failed")
                case .failure(let error):
                    #expect(refused.contains(n) && error is Refused, "item \(n) failed: \(error)")
                }
            }
            let stored = try await pool.withConnection { c in
                try c.execute("SELECT n, txid FROM items ORDER BY n").rows.map {
                    (Int(try $0.int("n")), try $0.int("txid"))
                }
            }
            #expect(stored.map(\.0) == (0..<40).filter { !refused.contains($0) })
            let transactions = Set(stored.map(\.1))
            #expect(transactions.count < stored.count, "no two items shared a transaction")
            // An epilogue runs after every body of its batch: it sees all of the batch's items.
            let seen = try await pool.withConnection { c in
                try c.execute("""
                    SELECT e.n, e.items_seen, (SELECT count(*) FROM items j WHERE j.txid = i.txid) AS batch
                    FROM epilogues e JOIN items i ON i.n = e.n
                    """).rows.map { (try $0.int("items_seen"), try $0.int("batch")) }
            }
            #expect(seen.count == stored.count)
            #expect(seen.allSatisfy { $0.0 == $0.1 })
        }
    }

    /// A batch runs other callers' items too: when its leader's call is cancelled (its client
    /// went away), theirs still commit.
    @Test func aCancelledLeaderDoesNotFailTheOthersOfItsBatch() async throws {
        try await TestDatabase.with { db in
            let held = try await HeldPool.holding(db)
            let first = held.insert(0)
            try await Task.sleep(for: .milliseconds(50))
            let leader = held.insert(1)
            try await Task.sleep(for: .milliseconds(50))
            let others = [held.insert(2), held.insert(3)]
            try await Task.sleep(for: .milliseconds(50))
            leader.cancel()
            try await held.release()
            #expect(try await first.value == 0)
            for (n, other) in zip([2, 3], others) { #expect(try await other.value == n) }
            _ = await leader.result
            let stored = try await held.stored()
            #expect(stored.contains(2) && stored.contains(3) && stored.contains(0))
        }
    }

    /// An item whose caller gave up while it waited for its batch is skipped: its call fails,
    /// nothing of it is committed, and the rest of the batch commits.
    @Test func anItemWhoseCallerGaveUpBeforeItRanIsNotCommitted() async throws {
        try await TestDatabase.with { db in
            let held = try await HeldPool.holding(db)
            let first = held.insert(0)
            try await Task.sleep(for: .milliseconds(50))
            let queued = [held.insert(1), held.insert(2), held.insert(3)]
            try await Task.sleep(for: .milliseconds(50))
            queued[1].cancel()
            try await held.release()
            #expect(try await first.value == 0)
            #expect(try await queued[0].value == 1)
            #expect(try await queued[2].value == 3)
            await #expect(throws: CancellationError.self) { try await queued[1].value }
            #expect(try await held.stored() == [0, 1, 3])
        }
    }

    /// A GroupCommit on a pool whose only connection is held: the first item's batch waits for
    /// it and later items queue behind it; once released they go together, led by the first.
    private struct HeldPool {
        let pool: PostgresPool
        let group: GroupCommit
        let gate: Barrier
        let blocker: BackgroundCall<Void>

        static func holding(_ db: TestDatabase) async throws -> HeldPool {
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in _ = try c.execute("CREATE TABLE items (n int PRIMARY KEY)") }
            let busy = Flag()
            let gate = Barrier(parties: 2)
            let blocker = BackgroundCall {
                try await pool.withConnection { _ in
                    busy.set()
                    gate.arrive()
                }
            }
            try await waitUntil("the blocker has the only connection", whileRunning: blocker) { busy.isSet }
            return HeldPool(pool: pool, group: GroupCommit(pool: pool), gate: gate, blocker: blocker)
        }

        /// An item inserting `n` into `items`, run in a task of its own.
        func insert(_ n: Int) -> Task<Int, any Error> {
            let group = group
            return Task {
                try await group.run(order: String(n)) { c in
                    _ = try c.execute("INSERT INTO items VALUES ($1)", [.int(Int64(n))])
                    return GroupedWork(n)
                }
            }
        }

        /// Lets the held connection go, so the queued items run.
        func release() async throws {
            gate.arrive()
            try await blocker.value
        }

        func stored() async throws -> [Int] {
            try await pool.withConnection { c in
                try c.execute("SELECT n FROM items ORDER BY n").rows.map { Int(try $0.int("n")) }
            }
        }
    }

    /// A lone item runs at once, in a transaction of its own.
    @Test func aLoneItemRunsAlone() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let group = GroupCommit(pool: pool)
            let value = try await group.run(order: "") { c in
                GroupedWork(try c.execute("SELECT 41 + 1 AS answer").rows[0].int("answer"))
            }
            #expect(value == 42)
        }
    }
}
