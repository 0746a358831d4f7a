import Foundation
import SluicePostgres
import Testing

@Suite(.timeLimit(.minutes(5))) struct MigrationTests {
    static let v1 = Migration(version: 1, name: "accounts", sql: """
        CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE);
        INSERT INTO accounts (name) VALUES ('root');
        """)
    static let v2 = Migration(version: 2, name: "files", sql: """
        CREATE TABLE files (id bigserial PRIMARY KEY, account_id bigint NOT NULL REFERENCES accounts (id));
        """)
    static let v3 = Migration(version: 3, name: "slow index", sql: """
        SELECT pg_sleep(0.3);
        CREATE INDEX files_by_account ON files (account_id);
        """)

    @Test func appliesInOrderThenDoesNothing() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool()
            // Given out of order: applied in version order all the same.
            #expect(try await Migrator.migrate(pool, [Self.v2, Self.v1]) == [1, 2])
            #expect(try await recorded(pool) == [1: "accounts", 2: "files"])
            #expect(try await count(pool, "accounts") == 1)

            #expect(try await Migrator.migrate(pool, [Self.v1, Self.v2]) == [])
            #expect(try await count(pool, "accounts") == 1)  // not run twice

            #expect(try await Migrator.migrate(pool, [Self.v1, Self.v2, Self.v3]) == [3])
            #expect(try await recorded(pool).keys.sorted() == [1, 2, 3])
            let appliedAt = try await pool.withConnection { c in
                try c.execute("SELECT applied_at FROM schema_migrations WHERE version = 3").rows[0].date("applied_at")
            }
            #expect(abs(appliedAt.timeIntervalSinceNow) < 60)
        }
    }

    @Test func concurrentMigratorsApplyEachVersionOnce() async throws {
        try await TestDatabase.with { db in
            let a = try db.pool(size: 2)
            let b = try db.pool(size: 2)
            let all = [Self.v1, Self.v2, Self.v3]
            async let fromA = Migrator.migrate(a, all)
            async let fromB = Migrator.migrate(b, all)
            let (appliedByA, appliedByB) = try await (fromA, fromB)
            #expect((appliedByA + appliedByB).sorted() == [1, 2, 3])
            #expect(try await recorded(a).keys.sorted() == [1, 2, 3])
            #expect(try await count(a, "accounts") == 1)
        }
    }

    @Test func refusesADatabaseNewerThanTheCode() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool()
            try await Migrator.migrate(pool, [Self.v1, Self.v2, Self.v3])
            let error = await #expect(throws: PostgresError.self) {
                try await Migrator.migrate(pool, [Self.v1, Self.v2])
            }
            #expect(error?.kind == .migration)
            #expect(error?.message.contains("migration 3") == true)
            #expect(error?.message.contains("newer") == true)
        }
    }

    @Test func aFailingMigrationIsRolledBackAndNamed() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool()
            let broken = Migration(version: 2, name: "broken", sql: """
                CREATE TABLE half_done (x int);
                SELECT * FROM no_such_table;
                """)
            let error = await #expect(throws: PostgresError.self) {
                try await Migrator.migrate(pool, [Self.v1, broken])
            }
            #expect(error?.kind == .migration)
            #expect(error?.sqlState == "42P01")
            #expect(error?.message.contains("migration 2 (broken)") == true)
            #expect(try await recorded(pool) == [1: "accounts"])
            let halfDone = try await pool.withConnection { c in
                try c.execute("SELECT to_regclass('half_done') IS NULL AS gone").rows[0].bool("gone")
            }
            #expect(halfDone)
        }
    }

    @Test func rejectsMalformedLists() async throws {
        try await TestDatabase.with { db in
            let pool = try db.pool(size: 1)
            await #expect(throws: PostgresError.self) {
                try await Migrator.migrate(pool, [Self.v1, Migration(version: 1, name: "again", sql: "SELECT 1")])
            }
            await #expect(throws: PostgresError.self) {
                try await Migrator.migrate(pool, [Migration(version: 0, name: "zero", sql: "SELECT 1")])
            }
        }
    }
}

private func recorded(_ pool: PostgresPool) async throws -> [Int: String] {
    try await pool.withConnection { c in
        var versions = [Int: String]()
        for row in try c.execute("SELECT version::bigint AS version, name FROM schema_migrations").rows {
            versions[Int(try row.int("version"))] = try row.string("name")
        }
        return versions
    }
}
