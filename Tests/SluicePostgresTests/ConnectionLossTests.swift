import Foundation
import Synchronization
import SluicePostgres
import Testing

/// Connections the server ended while they sat in the pool are replaced before they are used;
/// a transaction that lost its connection before COMMIT runs again on a fresh one.
@Suite(.timeLimit(.minutes(5))) struct ConnectionLossTests {
    private static func terminateAll(_ db: TestDatabase, observer: PostgresPool) async throws -> Int {
        try await observer.withConnection { connection in
            let result = try connection.execute("""
                SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = 'victim'
                """)
            return Int(try result.rows[0].int("n"))
        }
    }

    @Test func idleConnectionsEndedByTheServerAreReplacedUnnoticed() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 3, applicationName: "victim")
            let observer = try db.pool(size: 1)
            // Open all three connections.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask { try await pool.withConnection { _ = try $0.execute("SELECT pg_sleep(0.1)") } }
                }
                try await group.waitForAll()
            }
            #expect(try await Self.terminateAll(db, observer: observer) == 3)
            try await Task.sleep(for: .milliseconds(200))  // the server's goodbye reaches the sockets
            for _ in 0..<6 {
                let one = try await pool.withConnection { try $0.execute("SELECT 1 AS one").rows[0].int("one") }
                #expect(one == 1)
                let two = try await pool.transaction { try $0.execute("SELECT 2 AS two").rows[0].int("two") }
                #expect(two == 2)
            }
        }
    }

    @Test func aTransactionThatLosesItsConnectionBeforeCommitRunsAgain() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1, applicationName: "victim")
            try await pool.withConnection { _ = try $0.execute("CREATE TABLE t (n int)") }
            let attempts = Mutex(0)
            try await pool.transaction { connection in
                let attempt = attempts.withLock { $0 += 1; return $0 }
                _ = try connection.execute("INSERT INTO t VALUES (1)")
                if attempt == 1 { _ = try connection.execute("SELECT pg_terminate_backend(pg_backend_pid())") }
            }
            #expect(attempts.withLock { $0 } == 2)
            let rows = try await pool.withConnection { try $0.execute("SELECT count(*) AS n FROM t").rows[0].int("n") }
            #expect(rows == 1, "the first attempt's insert must have been rolled back")
        }
    }
}
