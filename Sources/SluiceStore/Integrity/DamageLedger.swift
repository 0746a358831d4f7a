import SluicePostgres

/// Records damage found outside a transaction (by a read), for operators to see in
/// `damaged_blobs` beside what the scrubber finds.
public struct DamageLedger: Sendable {
    let database: PostgresPool

    public init(database: PostgresPool) {
        self.database = database
    }

    /// Best effort: the reader answers DATA_LOSS whether or not the finding could be written.
    func record(_ key: BlobKey, by finder: String, detail: String) async {
        _ = try? await database.withConnection { connection in
            try DamagedBlobs.record(key, by: finder, detail: detail, on: connection)
        }
    }
}
