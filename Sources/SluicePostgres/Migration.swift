/// One step of a database schema: SQL applied once, in version order, recorded in
/// `schema_migrations`. Never edit a migration that has been released; add a new one.
public struct Migration: Sendable, Hashable {
    /// Positive and unique; migrations apply in ascending order.
    public let version: Int
    /// A short label, recorded with the version (for people reading `schema_migrations`).
    public let name: String
    /// One or more statements separated by semicolons. They run inside a transaction, so
    /// statements that refuse one (CREATE INDEX CONCURRENTLY, VACUUM) cannot be used.
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Brings a database's schema up to date with a list of migrations.
public enum Migrator {
    /// The key of the transaction-scoped advisory lock that serializes migrators of one database
    /// ("SluiceMg" in ASCII).
    static let lockKey: Int64 = 0x536C_7569_6365_4D67

    /// Takes the migrators' lock for the transaction, waiting as long as another migrator holds
    /// it, and lets the migration's own statements wait for locks as long as they must: a pool's
    /// lock timeout is for serving calls, not for a schema change another instance is applying.
    private static func serialize(on connection: PostgresConnection) throws {
        _ = try connection.execute(pipeline: [
            PostgresStatement("SELECT set_config('lock_timeout', '0', true)"),
            PostgresStatement("SELECT pg_advisory_xact_lock($1)", [.int(lockKey)]),
        ])
    }

    /// Applies the migrations the database lacks, each in its own transaction, in version order,
    /// and returns the versions it applied (empty when the schema was current).
    ///
    /// Safe to run from several processes at once (sluiced instances starting together): every
    /// transaction first takes `pg_advisory_xact_lock`, and a migration another process applied
    /// in the meantime is skipped.
    ///
    /// - Throws: `PostgresError` of kind `.migration` when the database holds a version this code
    ///   does not know (it is newer than the code: upgrade the code, do not run it against this
    ///   database), when the list is malformed (duplicate or non-positive versions), or when a
    ///   migration's SQL fails (that migration is rolled back; earlier ones stay applied).
    @discardableResult
    public static func migrate(_ pool: PostgresPool, _ migrations: [Migration]) async throws -> [Int] {
        let ordered = migrations.sorted { $0.version < $1.version }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where previous.version == next.version {
            throw PostgresError(.migration, "two migrations have version \(next.version)")
        }
        if let first = ordered.first, first.version < 1 {
            throw PostgresError(.migration, "migration versions must be positive (got \(first.version))")
        }
        let known = Set(ordered.map(\.version))
        let newestKnown = ordered.last?.version ?? 0

        let applied: Set<Int> = try await pool.transaction { connection in
            try serialize(on: connection)
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            let rows = try connection.execute("SELECT version::bigint AS version FROM schema_migrations").rows
            return Set(try rows.map { Int(try $0.int("version")) })
        }
        if let unknown = applied.subtracting(known).max() {
            let why =
                unknown > newestKnown
                ? "it is newer than this code, which knows versions up to \(newestKnown); run a newer build"
                : "this code has no migration with that version; the database and the code disagree"
            throw PostgresError(.migration, "the database has schema migration \(unknown) applied, but \(why)")
        }

        var newlyApplied = [Int]()
        for migration in ordered where !applied.contains(migration.version) {
            let didApply: Bool
            do {
                didApply = try await pool.transaction { connection in
                    try serialize(on: connection)
                    let done = try connection.execute(
                        "SELECT 1 FROM schema_migrations WHERE version = $1", [.int(Int64(migration.version))])
                    guard done.rows.isEmpty else { return false }  // another process applied it
                    try connection.executeScript(migration.sql)
                    try connection.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        [.int(Int64(migration.version)), .text(migration.name)])
                    return true
                }
            } catch let error as PostgresError where error.kind == .server {
                var wrapped = error
                wrapped.kind = .migration
                wrapped.message = "migration \(migration.version) (\(migration.name)) failed: \(error.message)"
                throw wrapped
            }
            if didApply { newlyApplied.append(migration.version) }
        }
        return newlyApplied
    }
}
