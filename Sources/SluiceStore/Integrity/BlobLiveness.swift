import SluicePostgres

/// Whether a blob is still meant to be stored: its row is there and the collector has not
/// marked it for deletion. Bytes found missing from a blob that is not are no damage — the
/// collector reclaimed them once no version or session used them (the versions were
/// deleted) — so the scrubber and readers ask this before they call a blob lost.
enum BlobLiveness {
    static func isStillStored(_ key: BlobKey, on connection: PostgresConnection) throws -> Bool {
        try !connection.execute("""
            SELECT 1 FROM blobs WHERE scope = $1 AND sha256 = $2 AND NOT deleting
            """, [.text(key.scope), .bytes(key.sha256)]).rows.isEmpty
    }
}
