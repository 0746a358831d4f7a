import Foundation
import SluicePostgres
import SluiceTestSupport
import Synchronization
import Testing

@Suite(.timeLimit(.minutes(5))) struct PoolTests {
    @Test func fiftyConcurrentCallsOnThreeConnections() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 3)
            let results = try await withThrowingTaskGroup(of: (Int64, Int64, Int64).self) { group in
                for i in Int64(0)..<50 {
                    group.addTask {
                        try await pool.withConnection { c in
                            let row = try c.execute(
                                "SELECT $1 * 2 AS doubled, pg_backend_pid()::bigint AS backend", [.int(i)]).rows[0]
                            return (i, try row.int("doubled"), try row.int("backend"))
                        }
                    }
                }
                return try await group.reduce(into: [(Int64, Int64, Int64)]()) { $0.append($1) }
            }
            #expect(results.count == 50)
            #expect(Set(results.map(\.0)).count == 50)
            #expect(results.allSatisfy { $0.1 == $0.0 * 2 })
            // At most three connections served them all. (That all three run at once is
            // `runsAsManyStatementsAtOnceAsItHasConnections`; how many of them this burst reaches
            // depends on how fast the third one connects.)
            let backends = Set(results.map(\.2))
            #expect((1...3).contains(backends.count), "\(backends.count) connections")
        }
    }

    /// Nine 0.4 s sleeps on a pool of three: the server sees at most (and at some point exactly)
    /// three of them running at once.
    @Test func runsAsManyStatementsAtOnceAsItHasConnections() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 3, applicationName: "sleepers")
            let observer = try db.pool(size: 1, applicationName: "observer")
            let done = Flag()
            async let sleepers: Void = {
                defer { done.set() }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<9 {
                        group.addTask { _ = try await pool.withConnection { c in try c.execute("SELECT pg_sleep(0.4)") } }
                    }
                    try await group.waitForAll()
                }
            }()
            // Sample pg_stat_activity until the sleepers are done.
            let seen = try await observer.withConnection { c in
                var counts = [Int64]()
                while !done.isSet && counts.count < 2000 {
                    counts.append(try c.execute("""
                        SELECT count(*)::bigint AS n FROM pg_stat_activity
                        WHERE datname = current_database() AND application_name = 'sleepers'
                            AND state = 'active' AND query LIKE 'SELECT pg_sleep%'
                        """).rows[0].int("n"))
                    Thread.sleep(forTimeInterval: 0.01)
                }
                return counts
            }
            try await sleepers
            #expect(seen.count >= 10)
            #expect(seen.max() == 3, "samples: \(seen)")
        }
    }

    @Test func callersAreServedInArrivalOrder() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let started = Flag()
            let order = Locked<[Int]>([])
            // Hold the only connection until all the others are queued.
            let gate = Barrier(parties: 2)
            let holder = BackgroundCall {
                try await pool.withConnection { _ in
                    started.set()
                    gate.arrive()
                }
            }
            try await waitUntil("the holder has the only connection", whileRunning: holder) { started.isSet }
            var tasks = [Task<Void, any Error>]()
            for i in 0..<10 {
                tasks.append(Task { try await pool.withConnection { _ in order.withLock { $0.append(i) } } })
                try await Task.sleep(for: .milliseconds(20))  // let each one queue before the next
            }
            gate.arrive()
            try await holder.value
            for task in tasks { try await task.value }
            #expect(order.current == Array(0..<10))
        }
    }

    @Test func cancellingAWaitingCallRemovesItFromTheQueue() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let started = Flag()
            let gate = Barrier(parties: 2)
            let holder = BackgroundCall {
                try await pool.withConnection { _ in
                    started.set()
                    gate.arrive()
                }
            }
            try await waitUntil("the holder has the only connection", whileRunning: holder) { started.isSet }
            let ran = Flag()
            let waiter = Task { try await pool.withConnection { _ in ran.set() } }
            try await Task.sleep(for: .milliseconds(50))
            waiter.cancel()
            let outcome = await waiter.result
            #expect(throws: CancellationError.self) { try outcome.get() }
            gate.arrive()
            try await holder.value
            // The pool still works, and the cancelled body never ran.
            #expect(try await pool.withConnection { _ in 7 } == 7)
            #expect(!ran.isSet)
        }
    }

    /// A call cancelled while its statement runs has the statement cancelled: it fails at once
    /// (57014) instead of holding the pool's only connection, which then serves the next call.
    @Test func cancellingARunningCallCancelsItsStatement() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let started = Flag()
            let sleeper = BackgroundCall {
                try await pool.transaction { c in
                    started.set()
                    _ = try c.execute("SELECT pg_sleep(60)")
                }
            }
            try await waitUntil("the sleeper has the only connection", whileRunning: sleeper) { started.isSet }
            try await Task.sleep(for: .milliseconds(100))
            let clock = ContinuousClock()
            let began = clock.now
            sleeper.cancel()
            let error = await #expect(throws: PostgresError.self) { try await sleeper.value }
            #expect(error?.sqlState == "57014")
            #expect(error?.isTimeout == true)
            #expect(try await pool.withConnection { c in try c.execute("SELECT 7 AS n").rows[0].int("n") } == 7)
            #expect(clock.now - began < .seconds(30))
        }
    }

    /// With a lock timeout, a statement waiting for a lock another session holds gives up.
    @Test func aLockHeldElsewhereTimesOut() async throws {
        try await TestDatabase.with { db in
            let holderPool = try db.pool(size: 1)
            let pool = try db.pool(size: 1, lockTimeout: .milliseconds(200))
            try await pool.withConnection { c in _ = try c.execute("CREATE TABLE locked (n int)") }
            let held = Flag()
            let gate = Barrier(parties: 2)
            let holder = BackgroundCall {
                try await holderPool.transaction { c in
                    _ = try c.execute("LOCK TABLE locked IN ACCESS EXCLUSIVE MODE")
                    held.set()
                    gate.arrive()
                }
            }
            try await waitUntil("the holder has the table locked", whileRunning: holder) { held.isSet }
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withConnection { c in try c.execute("SELECT count(*) AS n FROM locked") }
            }
            #expect(error?.sqlState == "55P03" && error?.isTimeout == true)
            gate.arrive()
            try await holder.value
            #expect(try await pool.withConnection { c in
                try c.execute("SELECT count(*)::bigint AS n FROM locked").rows[0].int("n")
            } == 0)
        }
    }

    @Test func closeFailsNewCallsAndClosesSessions() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 2, applicationName: "closing")
            let observer = try db.pool(size: 1)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { _ = try await pool.withConnection { c in try c.execute("SELECT pg_sleep(0.05)") } } }
                try await group.waitForAll()
            }
            #expect(try await sessions(named: "closing", observer) == 2)
            await pool.closeAndWait()
            // The client side is closed at once; the server reaps its backends a moment later.
            var remaining = try await sessions(named: "closing", observer)
            for _ in 0..<100 where remaining > 0 {
                try await Task.sleep(for: .milliseconds(50))
                remaining = try await sessions(named: "closing", observer)
            }
            #expect(remaining == 0)
            let error = await #expect(throws: PostgresError.self) { try await pool.withConnection { _ in 1 } }
            #expect(error?.kind == .poolClosed)
            pool.close()  // idempotent
        }
    }

    @Test func closeFailsWaitingCalls() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let started = Flag()
            let gate = Barrier(parties: 2)
            let holder = BackgroundCall {
                try await pool.withConnection { _ in
                    started.set()
                    gate.arrive()
                    return 1
                }
            }
            try await waitUntil("the holder has the only connection", whileRunning: holder) { started.isSet }
            let waiter = Task { try await pool.withConnection { _ in 2 } }
            try await Task.sleep(for: .milliseconds(50))
            pool.close()
            let outcome = await waiter.result
            let error = #expect(throws: PostgresError.self) { try outcome.get() }
            #expect(error?.kind == .poolClosed)
            gate.arrive()
            #expect(try await holder.value == 1)  // the running body finished normally
        }
    }
}

func sessions(named name: String, _ observer: PostgresPool) async throws -> Int64 {
    try await observer.withConnection { c in
        // Closing is asynchronous on the server side: give it a moment to notice.
        var n: Int64 = -1
        for _ in 0..<100 {
            n = try c.execute(
                "SELECT count(*)::bigint AS n FROM pg_stat_activity WHERE application_name = $1", [.text(name)]
            ).rows[0].int("n")
            if n == 0 || n == 2 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return n
    }
}
