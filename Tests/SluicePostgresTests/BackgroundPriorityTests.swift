import Dispatch
import Foundation
import SluicePostgres
import SluiceTestSupport
import Testing

/// Background calls (the change feed's watchers) never take the whole pool: at most half its
/// connections run them, and any other call is served before a waiting one. A thousand idle
/// watchers, each reading at every commit, once made every commit wait behind their reads.
@Suite(.timeLimit(.minutes(2))) struct BackgroundPriorityTests {
    @Test func backgroundCallsLeaveConnectionsToTheOthers() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 4)
            let gate = DispatchSemaphore(value: 0)
            let started = Locked(0)
            let gateOpenedByWatchdog = Flag()
            // Six background calls that hold their connection until the gate opens.
            let background = Task {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            try await pool.withConnection(priority: .background) { connection in
                                _ = try connection.execute("SELECT 1")
                                started.withLock { $0 += 1 }
                                gate.wait()
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
            // Should the limit fail, every connection would wait on the gate: open it after a
            // while, so that the test fails rather than hangs.
            let watchdog = Task {
                try await Task.sleep(for: .seconds(30))
                gateOpenedByWatchdog.set()
                for _ in 0..<6 { gate.signal() }
            }
            try await waitUntil("two background calls hold their connection") {
                started.current == 2
            }
            // Two background calls hold two of the four connections; the four others wait. A
            // call of the rest is served now, on a connection they do not have.
            let answer = try await pool.withConnection { connection in
                try connection.execute("SELECT 42::bigint AS n").rows[0].int("n")
            }
            #expect(answer == 42)
            #expect(!gateOpenedByWatchdog.isSet)
            #expect(started.current == 2, "more background calls ran than half the pool")
            watchdog.cancel()
            for _ in 0..<6 { gate.signal() }
            try await background.value
            #expect(started.current == 6)
        }
    }

    /// Calls that keep the pool busy without a break do not keep a background call waiting for
    /// good: past its patience it runs beside them (a watcher hears of changes while uploads go on).
    @Test func aBackgroundCallIsNotStarvedByABusyPool() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 2)
            let finished = Locked(0)
            let finishedBeforeTheBackgroundCall = Locked<Int?>(nil)
            let total = 400
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Eight callers, 50 calls of 10 ms each: the queue never empties for about 2 s.
                for _ in 0..<8 {
                    group.addTask {
                        for _ in 0..<(total / 8) {
                            try await pool.withConnection { c in _ = try c.execute("SELECT pg_sleep(0.01)") }
                            finished.withLock { $0 += 1 }
                        }
                    }
                }
                group.addTask {
                    try await Task.sleep(for: .milliseconds(100))
                    try await pool.withConnection(priority: .background) { c in _ = try c.execute("SELECT 1") }
                    finishedBeforeTheBackgroundCall.withLock { $0 = finished.current }
                }
                try await group.waitForAll()
            }
            let before = try #require(finishedBeforeTheBackgroundCall.current)
            #expect(before < total, "the background call waited until all \(total) others were done")
        }
    }
}
