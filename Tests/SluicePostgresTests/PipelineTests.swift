import SluicePostgres
import Testing

@Suite(.timeLimit(.minutes(5))) struct PipelineTests {
    /// Statements in one pipeline run in order and answer in order, prepared or not, new or
    /// already prepared, the same text twice included.
    @Test func statementsRunInOrderAndAnswerInOrder() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in
                _ = try c.execute("CREATE TEMPORARY TABLE t (n bigint PRIMARY KEY)")
                _ = try c.execute("INSERT INTO t VALUES ($1)", [.int(1)])
                let results = try c.execute(pipeline: [
                    PostgresStatement("INSERT INTO t VALUES ($1)", [.int(2)]),
                    PostgresStatement("INSERT INTO t VALUES ($1)", [.int(3)]),
                    PostgresStatement("UPDATE t SET n = n * 10 WHERE n >= $1", [.int(2)]),
                    PostgresStatement("SELECT array_agg(n ORDER BY n)::text AS all FROM t"),
                ])
                #expect(results.count == 4)
                #expect(results[0].affectedRows == 1)
                #expect(results[2].affectedRows == 2)
                #expect(try results[3].rows[0].string("all") == "{1,20,30}")
                // Every text was prepared once (the INSERT sent twice, once); running them again
                // reuses the names: CREATE, INSERT, UPDATE, the aggregate and the count itself.
                let again = try c.execute(pipeline: [
                    PostgresStatement("INSERT INTO t VALUES ($1)", [.int(4)]),
                    PostgresStatement("SELECT array_agg(n ORDER BY n)::text AS all FROM t"),
                ])
                #expect(try again[1].rows[0].string("all") == "{1,4,20,30}")
                let prepared = try c.execute(
                    "SELECT count(*)::bigint AS n FROM pg_prepared_statements WHERE name LIKE 'sluice_%'")
                #expect(try prepared.rows[0].int("n") == 5)
            }
        }
    }

    /// The first statement the server rejects throws its own error; the statements after it
    /// do not run; inside a transaction, the transaction is aborted; the connection goes on.
    @Test func aRejectedStatementStopsThoseAfterIt() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in
                _ = try c.execute("CREATE TEMPORARY TABLE t (n bigint PRIMARY KEY)")
                _ = try c.execute("BEGIN")
                let error = #expect(throws: PostgresError.self) {
                    try c.execute(pipeline: [
                        PostgresStatement("INSERT INTO t VALUES ($1)", [.int(1)]),
                        PostgresStatement("INSERT INTO t VALUES ($1)", [.int(1)]),
                        PostgresStatement("SELEC 1"),
                        PostgresStatement("INSERT INTO t VALUES ($1)", [.int(2)]),
                    ])
                }
                #expect(error?.sqlState == "23505")
                #expect(c.transactionStatus == .failedTransaction)
                _ = try c.execute("ROLLBACK")
                #expect(c.checkAlive())
                #expect(try c.execute("SELECT count(*)::bigint AS n FROM t").rows[0].int("n") == 0)
                // Outside a transaction the pipeline is one implicit transaction: all or nothing.
                #expect(throws: PostgresError.self) {
                    try c.execute(pipeline: [
                        PostgresStatement("INSERT INTO t VALUES ($1)", [.int(5)]),
                        PostgresStatement("SELEC 2"),
                        PostgresStatement("INSERT INTO t VALUES ($1)", [.int(6)]),
                    ])
                }
                #expect(try c.execute("SELECT count(*)::bigint AS n FROM t").rows[0].int("n") == 0)
                // A text the server refused to prepare is not remembered as prepared.
                #expect(throws: PostgresError.self) { try c.execute("SELEC 2") }
            }
        }
    }

    /// Outside a transaction, a setting made local to the transaction holds for the rest of
    /// the pipeline (its implicit transaction, so for its commit too) and not after it: what
    /// lets a lease commit asynchronously without a transaction of its own.
    @Test func aLocalSettingHoldsForThePipelineOnly() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in
                let results = try c.execute(pipeline: [
                    PostgresStatement("SELECT set_config('synchronous_commit', 'off', true)"),
                    PostgresStatement("SELECT current_setting('synchronous_commit') AS setting"),
                ])
                #expect(try results[1].rows[0].string("setting") == "off")
                #expect(c.transactionStatus == .idle)
                let after = try c.execute("SELECT current_setting('synchronous_commit') AS setting")
                #expect(try after.rows[0].string("setting") == "on")
            }
        }
    }

    /// A pipeline on a connection the server ended fails as a connection failure, and the
    /// pool's next call gets a working connection.
    @Test func aBrokenConnectionFailsAsSuchAndIsReplaced() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let (baseURL, overrides) = (db.baseURL, db.overrides)
            let failure = try await pool.withConnection { c -> PostgresError? in
                _ = try c.execute("BEGIN")
                let killer = try PostgresConnection(url: baseURL, overrides: overrides)
                _ = try killer.execute("SELECT pg_terminate_backend($1::int)", [.int(Int64(c.backendPID))])
                do {
                    _ = try c.execute(pipeline: [PostgresStatement("SELECT 1 AS one"), PostgresStatement("SELECT 2 AS two")])
                    return nil
                } catch let error as PostgresError {
                    return error
                }
            }
            #expect(failure?.isConnectionFailure == true)
            let answer = try await pool.withConnection { c in
                try c.execute(pipeline: [PostgresStatement("SELECT 1 AS one"), PostgresStatement("SELECT 2 AS two")])
            }
            #expect(try answer[1].rows[0].int("two") == 2)
        }
    }

    /// A statement first prepared in a pipeline behind one that fails is skipped with the rest,
    /// so it is not taken for prepared: the next run prepares it anew and runs it.
    @Test func aPreparationSkippedAfterAnErrorIsNotTakenForDone() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in
                #expect(throws: PostgresError.self) {
                    try c.execute(pipeline: [
                        PostgresStatement("SELECT 1 / $1::int AS broken", [.int(0)]),
                        PostgresStatement("SELECT $1::int + 1 AS n", [.int(1)]),
                    ])
                }
                let answers = try c.execute(pipeline: [
                    PostgresStatement("SELECT $1::int + 1 AS n", [.int(41)]), PostgresStatement("SELECT 2 AS two"),
                ])
                #expect(try answers[0].rows[0].int("n") == 42)
                #expect(try c.execute("SELECT $1::int + 1 AS n", [.int(6)]).rows[0].int("n") == 7)
            }
        }
    }

    /// A transaction's BEGIN goes with its first statement: that statement runs inside the
    /// transaction at the isolation asked for; a body that runs no statement, or throws before
    /// its first, leaves nothing behind.
    @Test func beginTravelsWithTheFirstStatement() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            let level = try await pool.transaction(isolation: .serializable) { c in
                try c.execute("SHOW transaction_isolation").rows[0].string("transaction_isolation")
            }
            #expect(level == "serializable")
            let pipelined = try await pool.transaction(isolation: .repeatableRead) { c in
                try c.execute(pipeline: [
                    PostgresStatement("SHOW transaction_isolation"), PostgresStatement("SELECT 2 AS two"),
                ])[0].rows[0].string("transaction_isolation")
            }
            #expect(pipelined == "repeatable read")
            #expect(try await pool.transaction { _ in 7 } == 7)
            struct Refused: Error {}
            await #expect(throws: Refused.self) { try await pool.transaction { _ -> Int in throw Refused() } }
            #expect(try await pool.withConnection { c in c.transactionStatus } == .idle)
        }
    }

    /// Statements queued to go with the next one run before it, in order, in its round trip:
    /// a savepoint and its release around a statement, as group commit uses them; the queued
    /// statement's error is the next statement's; a transaction that ends without sending
    /// them (empty, or rolled back) drops them.
    @Test func queuedStatementsGoWithTheNextOne() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in
                _ = try c.execute("CREATE TEMPORARY TABLE t (n bigint PRIMARY KEY)")
            }
            try await pool.transaction { c in
                c.sendWithNextStatement("SAVEPOINT item")
                _ = try c.execute("INSERT INTO t VALUES ($1)", [.int(1)])
                c.sendWithNextStatement("RELEASE SAVEPOINT item")
                c.sendWithNextStatement("SAVEPOINT item")
                #expect(throws: PostgresError.self) { try c.execute("INSERT INTO t VALUES ($1)", [.int(1)]) }
                _ = try c.execute("ROLLBACK TO SAVEPOINT item")
                c.sendWithNextStatement("RELEASE SAVEPOINT item")
            }
            let kept = try await pool.withConnection { c in
                try c.execute("SELECT array_agg(n ORDER BY n)::text AS all FROM t").rows[0].string("all")
            }
            #expect(kept == "{1}")

            try await pool.transaction { c in
                c.sendWithNextStatement("RELEASE SAVEPOINT never_made")
                let error = #expect(throws: PostgresError.self) { try c.execute("INSERT INTO t VALUES ($1)", [.int(2)]) }
                #expect(error?.sqlState == "3B001")
                _ = try c.execute("ROLLBACK")
            }
            // Queued behind a BEGIN that nothing followed: the empty transaction sends nothing.
            #expect(try await pool.transaction { c in
                c.sendWithNextStatement("SELECT pg_sleep(10)")
                return c.hasUnsentBegin
            })
            #expect(try await pool.withConnection { c in
                try c.execute("SELECT array_agg(n ORDER BY n)::text AS all FROM t").rows[0].string("all")
            } == "{1}")
        }
    }

    /// Statements sent with the COMMIT run last, in the COMMIT's round trip, and commit with the
    /// transaction; one that fails rolls the whole transaction back and throws its error; a
    /// body that throws drops them; a transaction with nothing else sends BEGIN with them.
    @Test func statementsSentWithTheCommitRunLastAndCommitOrFailTogether() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            try await pool.withConnection { c in
                _ = try c.execute("CREATE TABLE commit_statements (n bigint PRIMARY KEY)")
            }
            func kept() async throws -> String {
                try await pool.withConnection { c in
                    try c.execute("SELECT coalesce(array_agg(n ORDER BY n)::text, '{}') AS all FROM commit_statements")
                        .rows[0].string("all")
                }
            }
            try await pool.transaction { c in
                c.sendWithCommit(PostgresStatement("INSERT INTO commit_statements SELECT max(n) + 1 FROM commit_statements"))
                _ = try c.execute("INSERT INTO commit_statements VALUES ($1)", [.int(1)])
            }
            #expect(try await kept() == "{1,2}")

            let error = await #expect(throws: PostgresError.self) {
                try await pool.transaction { c in
                    _ = try c.execute("INSERT INTO commit_statements VALUES ($1)", [.int(10)])
                    c.sendWithCommit(PostgresStatement("INSERT INTO commit_statements VALUES ($1)", [.int(1)]))
                }
            }
            #expect(error?.sqlState == "23505")
            #expect(try await kept() == "{1,2}")
            #expect(try await pool.withConnection { c in c.transactionStatus } == .idle)

            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await pool.transaction { c in
                    _ = try c.execute("INSERT INTO commit_statements VALUES ($1)", [.int(20)])
                    c.sendWithCommit(PostgresStatement("INSERT INTO commit_statements VALUES ($1)", [.int(21)]))
                    throw Refused()
                }
            }
            try await pool.transaction { c in
                c.sendWithCommit(PostgresStatement("INSERT INTO commit_statements VALUES ($1)", [.int(3)]))
            }
            #expect(try await kept() == "{1,2,3}")
        }
    }
}
