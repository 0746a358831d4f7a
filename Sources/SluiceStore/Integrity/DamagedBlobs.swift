import SluicePostgres

/// The `damaged_blobs` table: blobs whose stored bytes were found not to hash to their
/// address, or missing, by whoever looked (the scrubber, a commit). Operators read it; an
/// upload of the same bytes rewrites the blob and clears its row.
enum DamagedBlobs {
    /// Records (or refreshes) a finding.
    static func record(_ key: BlobKey, by finder: String, detail: String, on connection: PostgresConnection) throws {
        _ = try connection.execute("""
            INSERT INTO damaged_blobs (scope, sha256, detected_by, detail) VALUES ($1, $2, $3, $4)
            ON CONFLICT (scope, sha256) DO UPDATE
            SET detected_at = now(), detected_by = EXCLUDED.detected_by, detail = EXCLUDED.detail
            """, [.text(key.scope), .bytes(key.sha256), .text(finder), .text(detail)])
    }

    /// Forgets a finding: the blob was rewritten or re-hashed intact.
    static func clear(_ key: BlobKey, on connection: PostgresConnection) throws {
        _ = try connection.execute(
            "DELETE FROM damaged_blobs WHERE scope = $1 AND sha256 = $2", [.text(key.scope), .bytes(key.sha256)])
    }
}

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

extension BlobError {
    /// Whether the error says that bytes the metadata calls stored are gone or cut short
    /// (as opposed to storage being unreachable for now).
    var meansStoredBytesAreGone: Bool {
        switch self {
        case .notFound, .truncated, .rangeOutOfBounds: true
        default: false
        }
    }
}
