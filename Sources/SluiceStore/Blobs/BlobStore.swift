import Foundation

/// Where the bytes of partitions live, addressed by content: the small interface every backend
/// (local disk, S3-compatible storage) implements, in the manner of tusd's data stores.
///
/// A store knows nothing of objects, sessions or reference counts; the metadata store does. What
/// a store promises:
///
/// - A blob exists only once its writer's `finish()` has returned, and it is durable by then:
///   a partition may be acknowledged at that moment.
/// - Every stored blob's bytes hash to its key (the writer checks before publishing), and writing
///   the same key twice, even concurrently, leaves one intact blob.
/// - Nothing is verified by the store on the way out: reads return whatever storage holds, so a
///   blob damaged at rest comes back damaged rather than silently "fixed" or hidden. Verifying is
///   the caller's job: ``VerifiedBlobBytes`` checks whole-blob reads (the ``WholeHashVerifier``'s
///   included), the ``Scrubber`` re-hashes every referenced blob, and clients check what they
///   download. Commits read nothing: every byte was checked against its partition hash on arrival.
public protocol BlobStore: Sendable {
    /// A writer for a blob of exactly `size` bytes that must hash to `key.sha256`. Nothing is
    /// visible under `key` until the writer finishes; a writer that is never finished leaves only
    /// staging, which ``removeAbandonedStaging(olderThan:)`` reclaims.
    func makeWriter(for key: BlobKey, size: Int64) async throws -> any BlobWriter

    /// Whether a finished blob is stored under `key`.
    func contains(_ key: BlobKey) async throws -> Bool

    /// The bytes in `range` of the blob, in chunks of at most `chunkSize` bytes, each read only
    /// when the consumer asks for it. A missing blob or a range outside it fails the first `next()`
    /// with ``BlobError/notFound(_:)`` or ``BlobError/rangeOutOfBounds(requested:size:)``.
    func read(_ key: BlobKey, range: Range<Int64>, chunkSize: Int) -> BlobChunks

    /// Removes the blob, unless `deadline` has passed when the store is about to: then it leaves
    /// the blob (``BlobDeletion/notMade``). Removing a missing blob succeeds. The caller must know
    /// that nothing references it (``BlobReclaimer`` asks the metadata store first); the deadline
    /// is how long its claim to delete the blob stands. A delete that waited longer (behind a
    /// stalled disk, say) might reach the bytes of an upload stored since another reclaimer
    /// took the claim over.
    func delete(_ key: BlobKey, before deadline: ContinuousClock.Instant) async throws -> BlobDeletion

    /// One page of the keys of blobs last written before `cutoff`, in the store's own order,
    /// starting after `after` (nil for the first page) and holding at most `limit` (at least 1)
    /// keys; fewer than `limit` means the listing is complete. Pass the last key of a page to get the next.
    ///
    /// This is the collector's sweep of blobs the database no longer knows. The cutoff is a grace
    /// period: a blob written by an upload that has not yet recorded it must be younger than the
    /// cutoff, so the cutoff must lie further in the past than the longest such window.
    func keys(olderThan cutoff: Date, after: BlobKey?, limit: Int) async throws -> [BlobKey]

    /// Removes staging left by writers that were never finished nor aborted (a crash, a lost
    /// task) and untouched since before `cutoff`; returns how many were removed. A writer idle for
    /// longer than the cutoff loses its staging and fails when it finishes, so the cutoff must
    /// exceed the longest pause an upload may take between two writes.
    func removeAbandonedStaging(olderThan cutoff: Date) async throws -> Int
}
