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

    /// A select-list column, `damage_recorded`, saying whether the blob in the columns
    /// `scope` and `sha256` (e.g. "vp.blob_scope", "vp.sha256") has a finding: an index probe
    /// in the query that loads partitions, so that reads need no round trip of their own.
    static func recordedColumn(scope: String, sha256: String) -> String {
        "EXISTS (SELECT 1 FROM damaged_blobs db WHERE db.scope = \(scope) AND db.sha256 = \(sha256)) AS damage_recorded"
    }

    /// Forgets a finding: the blob was rewritten or re-hashed intact.
    static func clear(_ key: BlobKey, on connection: PostgresConnection) throws {
        _ = try connection.execute(clearing(key))
    }

    /// The statement of ``clear(_:on:)``, for a pipeline.
    static func clearing(_ key: BlobKey) -> PostgresStatement {
        PostgresStatement(
            "DELETE FROM damaged_blobs WHERE scope = $1 AND sha256 = $2", [.text(key.scope), .bytes(key.sha256)])
    }
}
