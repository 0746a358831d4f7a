import SluiceOpenSSL
import SluicePostgres

/// Ties a blob store to its metadata database at start-up: the database keeps a random id (in
/// `settings`), the store records it (``BlobStoreMarking``), and a sluiced whose database and
/// store disagree refuses to start rather than collect the store's blobs as unknown.
public enum BlobStoreOwnership {
    static let settingName = "database_id"

    /// Checks that `blobs` belongs to `database`, marking a store that holds no mark yet: a new
    /// one, or one made before stores were marked — unless it holds blobs while the database
    /// knows none, which is a used store given a fresh database by mistake; or it holds none
    /// while the database knows some, which is a fresh store given a used database (`--blobs`
    /// naming another bucket or folder): marked, it would be taken for the database's own, and
    /// every object served `DATA_LOSS`.
    public static func check(database: PostgresPool, blobs: any BlobStore, describedAs place: String) async throws {
        guard let marking = blobs as? any BlobStoreMarking else { return }
        let (ours, knowsBlobs) = try await databaseID(database)
        let recorded: String
        if let found = try await marking.recordedDatabaseID() {
            recorded = found
        } else {
            let holdsBlobs = try await !blobs.keys(olderThan: .distantFuture, after: nil, limit: 1).isEmpty
            if holdsBlobs, !knowsBlobs {
                throw BlobStoreBelongsElsewhere(
                    place: place, detail: "it holds blobs, but this database knows none (a new database?)")
            }
            if knowsBlobs, !holdsBlobs {
                throw BlobStoreBelongsElsewhere(
                    place: place,
                    detail: "it holds no blobs and no mark, but this database knows blobs (--blobs names another store?)",
                    remedy: "if the store really lost every blob, write this database's id, \(ours), into its "
                        + "database-id and start again: objects whose bytes are gone then read as DATA_LOSS")
            }
            // Marking is best effort: a store on a full or read-only disk is checked as above at
            // every start until its mark can be written.
            recorded = (try? await marking.recordDatabaseID(ours)) ?? ours
        }
        guard recorded == ours else {
            throw BlobStoreBelongsElsewhere(
                place: place, detail: "it belongs to the database with id \(recorded), not to this one (\(ours))")
        }
    }

    /// This database's id, made on first use, and whether it knows any blob.
    private static func databaseID(_ database: PostgresPool) async throws -> (id: String, knowsBlobs: Bool) {
        let candidate = Hex.encode(RandomBytes.make(16))
        return try await database.transaction { connection in
            let answers = try connection.execute(pipeline: [
                PostgresStatement(
                    "INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                    [.text(settingName), .bytes(Array(candidate.utf8))]),
                PostgresStatement("SELECT value FROM settings WHERE name = $1", [.text(settingName)]),
                PostgresStatement("SELECT EXISTS (SELECT 1 FROM blobs) AS known", []),
            ])
            guard let value = try answers[1].rows.first?.bytes("value") else {
                throw StorageError.aborted("the database id could not be read back; start sluiced again")
            }
            return (String(decoding: value, as: UTF8.self), try answers[2].rows.first?.bool("known") ?? false)
        }
    }
}

/// The refusal to start on a blob store that belongs to another database.
public struct BlobStoreBelongsElsewhere: Error, CustomStringConvertible {
    let place: String
    let detail: String
    /// What to do when the pairing is meant after all.
    var remedy = "if this really is the store's database (restored from a backup made before the store was "
        + "marked), remove the store's database-id and start again"

    public var description: String {
        "the blob store \(place) does not belong to this database: \(detail). sluiced would take one for the "
            + "other's, so it does not start. Point --blobs and --database at a store and its own database; "
            + remedy
    }
}
