import SluicePostgres

/// Aborting sessions lets their partitions go in the same statement, so that the bytes can be
/// reclaimed as soon as the transaction commits (``BlobReclaimer/reclaimRegardless(among:)``):
/// left to the collector's next pass, the bytes of sessions aborted with their reservations
/// freed at once were counted nowhere meanwhile, and aborting again and again filled the disk.
enum SessionRelease {
    /// The statement: `aborting` is one or more `WITH` items, the last named `aborted`, an
    /// UPDATE of `upload_sessions s` that answers `s.id` for every session it aborted.
    static func statement(_ aborting: String, _ parameters: [PostgresValue]) -> PostgresStatement {
        PostgresStatement("""
            WITH \(aborting), released AS (
                DELETE FROM session_partitions sp USING aborted a WHERE sp.session_id = a.id
                RETURNING sp.session_id, sp.blob_scope, sp.sha256)
            SELECT a.id, r.blob_scope, r.sha256 FROM aborted a LEFT JOIN released r ON r.session_id = a.id
            """, parameters)
    }

    /// From the answer to ``statement(_:_:)``: how many sessions it aborted, and the blobs their
    /// partitions referred to.
    static func outcome(of answer: PostgresResult) throws -> (sessions: Int, released: [BlobKey]) {
        var sessions = Set<[UInt8]>()
        var released: [BlobKey] = []
        for row in answer.rows {
            sessions.insert(try row.bytes("id"))
            if !(try row.isNull("blob_scope")) {
                released.append(try BlobKey(scope: try row.string("blob_scope"), sha256: try row.bytes("sha256")))
            }
        }
        return (sessions.count, released)
    }
}
