import Foundation
import SluicePostgres
import SluiceTestSupport
import Testing

struct Boom: Error {}

@Suite(.timeLimit(.minutes(5))) struct TransactionTests {
    @Test func commitsAndReturnsTheBodysValue() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool()
            try await pool.withConnection { c in try c.execute("CREATE TABLE t (x bigint)") }
            let inserted = try await pool.transaction { c in
                try c.execute("INSERT INTO t VALUES (1), (2)").affectedRows
            }
            #expect(inserted == 2)
            #expect(try await count(pool, "t") == 2)
        }
    }

    @Test func rollsBackWhenTheBodyThrows() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in try c.execute("CREATE TABLE t (x bigint)") }
            await #expect(throws: Boom.self) {
                try await pool.transaction { c in
                    try c.execute("INSERT INTO t VALUES (1)")
                    throw Boom()
                }
            }
            #expect(try await count(pool, "t") == 0)
            let status = try await pool.withConnection { $0.transactionStatus }
            #expect(status == .idle)
        }
    }

    /// A caller that gives up (its deadline passed, its client went away) while its body runs
    /// between statements is answered with an error, and what the body did is rolled back:
    /// no change lands after its caller was told the call failed.
    @Test func aCallerThatGivesUpBeforeCommitLeavesNothing() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in try c.execute("CREATE TABLE t (x bigint)") }
            let inserted = Flag(), cancelled = Flag()
            let call = Task {
                try await pool.transaction { c in
                    try c.execute("INSERT INTO t VALUES (1)")
                    inserted.set()
                    // The body ends only once its caller has given up (bounded, should the
                    // test's own task never get there), however late a loaded machine runs it.
                    let giveUp = ContinuousClock.now + .seconds(60)
                    while !cancelled.isSet, ContinuousClock.now < giveUp { Thread.sleep(forTimeInterval: 0.005) }
                    return 1
                }
            }
            try await waitUntil("the body inserted its row") { inserted.isSet }
            call.cancel()
            cancelled.set()
            await #expect(throws: CancellationError.self) { try await call.value }
            #expect(try await count(pool, "t") == 0)
            let status = try await pool.withConnection { $0.transactionStatus }
            #expect(status == .idle)
        }
    }

    @Test func refusesToCommitAfterASwallowedError() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in try c.execute("CREATE TABLE t (x bigint)") }
            let error = await #expect(throws: PostgresError.self) {
                try await pool.transaction { c in
                    try c.execute("INSERT INTO t VALUES (1)")
                    _ = try? c.execute("SELECT 1 / 0")
                    return 1
                }
            }
            #expect(error?.kind == .transaction)
            #expect(try await count(pool, "t") == 0)
        }
    }

    @Test func aTransactionLeftOpenIsRolledBack() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in
                try c.execute("CREATE TABLE t (x bigint)")
                try c.execute("BEGIN")
                try c.execute("INSERT INTO t VALUES (1)")
            }
            let (status, rows) = try await pool.withConnection { c in
                (c.transactionStatus, try c.execute("SELECT count(*)::bigint AS n FROM t").rows[0].int("n"))
            }
            #expect(status == .idle)
            #expect(rows == 0)
        }
    }

    /// The textbook write skew: two on-call doctors each take themselves off call if the other
    /// is still on. Under SERIALIZABLE one of the two must fail and, retried, see the other's change.
    @Test func serializationFailuresAreRetried() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 2)
            try await pool.withConnection { c in
                try c.executeScript("""
                    CREATE TABLE doctors (name text PRIMARY KEY, on_call boolean NOT NULL);
                    INSERT INTO doctors VALUES ('alice', true), ('bob', true);
                    """)
            }
            let bothRead = Barrier(parties: 2)
            let barrierTimeouts = Counter()
            let attempts = (alice: Counter(), bob: Counter())
            @Sendable func goOffCall(_ name: String, _ attempts: Counter) -> @Sendable (PostgresConnection) throws -> Bool {
                { c in
                    let attempt = attempts.increment()
                    let onCall = try c.execute("SELECT count(*)::bigint AS n FROM doctors WHERE on_call").rows[0].int("n")
                    // The first attempts read before either writes: the conflict is certain.
                    if attempt == 1, !bothRead.arrive() { barrierTimeouts.increment() }
                    guard onCall >= 2 else { return false }
                    try c.execute("UPDATE doctors SET on_call = false WHERE name = $1", [.text(name)])
                    return true
                }
            }
            async let alice = pool.transaction(isolation: .serializable, goOffCall("alice", attempts.alice))
            async let bob = pool.transaction(isolation: .serializable, goOffCall("bob", attempts.bob))
            let wentOff = try await [alice, bob]

            #expect(wentOff.filter { $0 }.count == 1)  // exactly one left
            #expect(try await count(pool, "doctors WHERE on_call") == 1)
            #expect(attempts.alice.current + attempts.bob.current >= 3)  // the loser ran again
            #expect(barrierTimeouts.current == 0)
        }
    }

    @Test func retriesStopAfterMaxAttempts() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let attempts = Counter()
            let error = await #expect(throws: PostgresError.self) {
                try await pool.transaction(isolation: .serializable) { c in
                    attempts.increment()
                    try c.execute("DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = 'serialization_failure'; END $$")
                }
            }
            #expect(error?.isSerializationFailure == true)
            #expect(error?.sqlState == "40001")
            #expect(attempts.current == pool.maxTransactionAttempts)
            #expect(attempts.current == 5)

            // A deadlock (40P01) is retried too; other errors are not.
            let deadlocks = Counter()
            await #expect(throws: PostgresError.self) {
                try await pool.transaction { c in
                    deadlocks.increment()
                    try c.execute("DO $$ BEGIN RAISE EXCEPTION 'dl' USING ERRCODE = 'deadlock_detected'; END $$")
                }
            }
            #expect(deadlocks.current == 5)
            let others = Counter()
            await #expect(throws: PostgresError.self) {
                try await pool.transaction { c in
                    others.increment()
                    try c.execute("SELECT 1 / 0")
                }
            }
            #expect(others.current == 1)
        }
    }

    @Test func isolationLevelIsApplied() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            for (level, expected) in [
                (PostgresPool.IsolationLevel.readCommitted, "read committed"),
                (.repeatableRead, "repeatable read"), (.serializable, "serializable"),
            ] {
                let shown = try await pool.transaction(isolation: level) { c in
                    try c.execute("SHOW transaction_isolation").rows[0].string("transaction_isolation")
                }
                #expect(shown == expected)
            }
        }
    }

    /// A session that died while idle is noticed at BEGIN: nothing ran yet, so the pool reconnects
    /// and the transaction goes through.
    @Test func brokenConnectionAtBeginIsResetAndRetried() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let admin = try db.pool(size: 1)
            let first = try await pool.withConnection { Int64($0.backendPID) }
            try await terminate(first, using: admin)
            let (one, second) = try await pool.transaction { c in
                (try c.execute("SELECT 1::bigint AS one").rows[0].int("one"), Int64(c.backendPID))
            }
            #expect(one == 1)
            #expect(second != first)
        }
    }
}

func count(_ pool: PostgresPool, _ from: String) async throws -> Int64 {
    try await pool.withConnection { c in
        try c.execute("SELECT count(*)::bigint AS n FROM \(from)").rows[0].int("n")
    }
}
