/// How the store's transactions lock rows, and in which order, so that none of them can wait
/// on another in a cycle.
///
/// **Strength.** A row a transaction must own (a principal whose quota it checks, a session it
/// commits, an object it restores, a blob whose lease it confirms) is locked with
/// ``exclusive`` — `FOR NO KEY UPDATE`, never `FOR UPDATE`. Every insert that refers to such a
/// row (a version's `written_by`, a change's `owner_id`, a partition's blob) takes
/// `FOR KEY SHARE` on it for its foreign-key check, and `FOR UPDATE` conflicts with that while
/// `FOR NO KEY UPDATE` does not: with `FOR UPDATE`, a commit that has inserted a version's
/// partitions (holding their blobs' key-share locks) waited for the change log while a
/// session create held the principal and waited for those blobs — a cycle PostgreSQL broke
/// by aborting one of them. Only a transaction that deletes a row (DeleteObject, the
/// collector's sweep of unreferenced blobs, which skips locked rows) locks it `FOR UPDATE`.
///
/// **Order.** Object transactions take their locks in this order, each group at most once
/// and, within a group, in ascending key order:
/// 1. principal rows (quota and request-id serialization),
/// 2. the upload session,
/// 3. grants (shared, so a revoke waits for the transaction),
/// 4. the object row, then its versions,
/// 5. blob rows,
/// 6. the change log's position (always the last statement before commit, so a transaction
///    holding it never waits for anything).
///
/// A group commit runs several items in one transaction, each in this order, so across the
/// batch blob locks follow the items' object order, not the blobs' own: a session create that
/// marks blobs it finds already held therefore never waits for a blob lock (it skips a locked
/// blob, whose bytes the client then sends), or it could close a cycle with such a batch.
enum RowLock {
    /// The lock of a row this transaction updates (or must keep others from updating) without
    /// changing its key: see the type's documentation for why it is never `FOR UPDATE`.
    static let exclusive = "FOR NO KEY UPDATE"
}
