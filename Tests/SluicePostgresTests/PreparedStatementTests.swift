import SluicePostgres
import Testing

@Suite(.timeLimit(.minutes(5))) struct PreparedStatementTests {
    private func preparedCount(_ connection: PostgresConnection) throws -> Int64 {
        try connection.execute("SELECT count(*)::bigint AS n FROM pg_prepared_statements WHERE name LIKE 'sluice_%'")
            .rows[0].int("n")
    }

    /// A statement is prepared once per session and per parameter types, survives a rolled-back
    /// transaction, and is prepared anew after a reset.
    @Test func statementsArePreparedOncePerSession() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in
                let sql = "SELECT $1::text || '!' AS v"
                for word in ["a", "b", "c"] {
                    #expect(try c.execute(sql, [.text(word)]).rows[0].string("v") == word + "!")
                }
                // The count statement itself is prepared too: two so far.
                #expect(try preparedCount(c) == 2)
                _ = try c.execute("BEGIN")
                #expect(try c.execute(sql, [.text("in a transaction")]).rows[0].string("v") == "in a transaction!")
                _ = try c.execute("ROLLBACK")
                #expect(try c.execute(sql, [.text("after")]).rows[0].string("v") == "after!")
                // The same text with other parameter types is a statement of its own.
                #expect(try c.execute("SELECT $1 AS v", [.int(7)]).rows[0].int("v") == 7)
                #expect(try c.execute("SELECT $1 AS v", [.text("seven")]).rows[0].string("v") == "seven")
                try c.reset()
                #expect(try c.execute(sql, [.text("reset")]).rows[0].string("v") == "reset!")
            }
        }
    }

    /// A statement the server refuses is not kept; the session goes on.
    @Test func aRefusedStatementIsNotKept() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in
                #expect(throws: PostgresError.self) { try c.execute("SELEC 1") }
                #expect(throws: PostgresError.self) { try c.execute("SELEC 1") }
                let one = try c.execute("SELECT 1 AS one").rows[0].int("one")
                #expect(one == 1)
            }
        }
    }
}
