/// A blob store that records which metadata database its blobs belong to (an optional
/// capability beside ``BlobStore``, as tusd adds capabilities to its stores).
///
/// The collector deletes every blob the database does not know. A sluiced pointed at another
/// database than its store's — a typo in `--database`, a staging server given the production
/// path — would therefore delete the whole store after the grace period. With the mark it
/// refuses to start instead (``BlobStoreOwnership``).
public protocol BlobStoreMarking: Sendable {
    /// The database id recorded in the store; nil when none is.
    func recordedDatabaseID() async throws -> String?

    /// Records `id` unless an id is recorded already; answers the id recorded now, which is
    /// another one when another instance recorded first.
    func recordDatabaseID(_ id: String) async throws -> String
}
