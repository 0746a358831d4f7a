import SluicePostgres
import Synchronization

/// Records principals on first use and remembers their ids.
public final class PrincipalDirectory: Sendable {
    private let database: PostgresPool
    /// Keyed by the subject's UTF-8 bytes: Swift's String equality treats canonically
    /// equivalent spellings as equal, but they are different certificate subjects.
    private let known = Mutex<[[UInt8]: Principal]>([:])

    public init(database: PostgresPool) {
        self.database = database
    }

    /// The principal for a verified certificate subject, created on first sight.
    public func principal(named name: String) async throws -> Principal {
        let key = Array(name.utf8)
        if let principal = known.withLock({ $0[key] }) { return principal }
        let id = try await database.withConnection { connection in
            let result = try connection.execute("""
                INSERT INTO principals (name) VALUES ($1)
                ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name
                RETURNING id
                """, [.text(name)])
            guard let row = result.rows.first else {
                throw StorageError.aborted("the principal could not be recorded; send the request again")
            }
            return try row.int("id")
        }
        let principal = Principal(id: id, name: name)
        known.withLock { $0[key] = principal }
        return principal
    }
}
