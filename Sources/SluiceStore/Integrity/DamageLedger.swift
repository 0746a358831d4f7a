import SluicePostgres

/// Records damage found outside a transaction (by a read), for operators to see in
/// `damaged_blobs` beside what the scrubber finds; and tells a read whose bytes vanished
/// whether that is damage at all.
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

    /// Best effort, like ``record(_:by:detail:)``: forgets a finding about `key`, whose bytes a
    /// read has just hashed whole to its address. Most reads find no row to delete (an index
    /// probe, nothing written).
    func clear(_ key: BlobKey) async {
        _ = try? await database.withConnection { connection in try DamagedBlobs.clear(key, on: connection) }
    }

    /// What a read answers when the blob `key` it was serving — partition `partition` of
    /// `object` ("'a.bin' version 2") — turned out missing or cut short (`error`).
    ///
    /// A version is read outside any transaction, so it may be deleted, and its blob
    /// collected, while its bytes stream: when the blob is no longer meant to be stored that
    /// is what happened, and the answer is NOT_FOUND. A blob still meant to be stored is
    /// damage: recorded, and DATA_LOSS. Neither message names the blob's key (the server's
    /// business); the finding in `damaged_blobs` does.
    func refusal(for error: BlobError, key: BlobKey, partition: Int, of object: String) async throws -> StorageError {
        let stored = try await database.withConnection { connection in try BlobLiveness.isStillStored(key, on: connection) }
        guard stored else {
            return .notFound(
                "object \(object) was deleted while it was being read; nothing more is served. Read the object "
                    + "again for what is stored now")
        }
        await record(key, by: "read", detail: "partition \(partition) of \(object): \(error)")
        return .dataLoss(
            "partition \(partition) of \(object) is missing from storage or cut short; nothing more is served. "
                + "Uploading the same bytes again repairs it")
    }
}
