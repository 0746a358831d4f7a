import Foundation
import SluicePostgres
import Testing

@Suite(.timeLimit(.minutes(5))) struct ErrorTests {
    @Test func uniqueViolationCarriesSQLStateAndConstraint() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let (error, rowsAfter) = try await pool.withConnection { c -> (PostgresError?, Int64) in
                try c.execute("CREATE TABLE names (name text CONSTRAINT names_unique UNIQUE)")
                try c.execute("INSERT INTO names VALUES ($1)", [.text("a")])
                do {
                    try c.execute("INSERT INTO names VALUES ($1)", [.text("a")])
                    return (nil, -1)
                } catch let error as PostgresError {
                    // The connection stays usable after a statement error.
                    return (error, try c.execute("SELECT count(*)::bigint AS n FROM names").rows[0].int("n"))
                }
            }
            #expect(rowsAfter == 1)
            let violation = try #require(error)
            #expect(violation.sqlState == "23505")
            #expect(violation.isUniqueViolation)
            #expect(!violation.isSerializationFailure)
            #expect(!violation.isConnectionFailure)
            #expect(violation.kind == .server)
            #expect(violation.constraint == "names_unique")
            #expect(violation.detail?.contains("(name)=(a)") == true)
            #expect(violation.description.contains("23505"))
        }
    }

    @Test func syntaxError() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let error = await #expect(throws: PostgresError.self) {
                try await pool.withConnection { c in try c.execute("SELEKT 1") }
            }
            #expect(error?.sqlState == "42601")
            #expect(error?.kind == .server)
            #expect(error?.message.contains("syntax error") == true)
            // Multi-statement scripts report errors the same way.
            let scriptError = await #expect(throws: PostgresError.self) {
                try await pool.withConnection { c in try c.executeScript("SELECT 1; SELECT * FROM missing_table") }
            }
            #expect(scriptError?.sqlState == "42P01")
        }
    }

    @Test func refusedConnections() async throws {
        let error = #expect(throws: PostgresError.self) {
            _ = try PostgresConnection(url: "postgresql:///nope?host=/nonexistent-socket-dir&port=1")
        }
        #expect(error?.kind == .connection)
        #expect(error?.isConnectionFailure == true)
        #expect(error?.message.contains("could not connect") == true)

        // A malformed connection string is refused when the pool is made, without connecting.
        let malformed = #expect(throws: PostgresError.self) {
            _ = try PostgresPool(url: "postgresql:///db?no_such_option=1")
        }
        #expect(malformed?.kind == .connection)

        // A pool whose server is unreachable fails calls, not its creation.
        let pool = try PostgresPool(url: "postgresql:///nope?host=/nonexistent-socket-dir&port=1", size: 1)
        defer { pool.close() }
        let callError = await #expect(throws: PostgresError.self) {
            try await pool.withConnection { c in try c.execute("SELECT 1") }
        }
        #expect(callError?.isConnectionFailure == true)
    }

    @Test func terminatedBackendIsReplacedOrFailsAsAConnectionLoss() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let admin = try db.pool(size: 1)
            let first = try await pool.withConnection { Int64($0.backendPID) }
            try await terminate(first, using: admin)

            // The pool checks an idle connection before lending it and replaces one the server
            // ended; only a loss that is not yet visible on the socket reaches the call, and
            // then as a connection failure (UNAVAILABLE to clients), never as another error.
            // The call asks the server (the backend's pid is also known locally, which would not
            // touch the session): pg_stat_activity forgets a backend just before its socket
            // closes, so the loss may or may not be visible yet.
            do {
                let pid = try await pool.withConnection { c in
                    try c.execute("SELECT pg_backend_pid()::bigint AS pid").rows[0].int("pid")
                }
                #expect(pid != first)
            } catch let error as PostgresError {
                #expect(error.isConnectionFailure)
            }
            // Either way the next call gets a new session.
            let (one, second) = try await pool.withConnection { c in
                (try c.execute("SELECT 1::bigint AS one").rows[0].int("one"), Int64(c.backendPID))
            }
            #expect(one == 1)
            #expect(second != first)
        }
    }
}

/// Ends a server session and waits until it is gone.
func terminate(_ pid: Int64, using admin: PostgresPool) async throws {
    try await admin.withConnection { c in
        try c.execute("SELECT pg_terminate_backend($1::int)", [.int(pid)])
        for _ in 0..<200 {
            if try c.execute("SELECT 1 FROM pg_stat_activity WHERE pid = $1::int", [.int(pid)]).rows.isEmpty {
                return
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw PostgresError(.server, "backend \(pid) did not end")
    }
}
