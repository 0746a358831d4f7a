/// The numbers that bound what one principal can ask of the store. Each is configurable
/// (see sluiced's flags) and each refusal names the limit it hit.
public struct StorageLimits: Sendable {
    /// Largest partition, in bytes.
    public var maxPartitionSize: Int64 = 64 * 1024 * 1024
    /// Most partitions one session (so one object) may have.
    public var maxPartitionsPerSession = 10_000
    /// Most sessions one principal may have open at once (the default session quota; 0: unlimited).
    public var maxOpenSessionsPerPrincipal = 100
    /// The default byte quota of a principal: logical bytes stored plus bytes reserved by
    /// open sessions (0: unlimited).
    public var maxStoredBytesPerPrincipal: Int64 = 0
    /// The default object quota of a principal (0: unlimited).
    public var maxObjectsPerPrincipal: Int64 = 0
    /// The default rate limits of a principal (0s: unlimited); enforced by the server, not the store.
    public var defaultRateLimits = RateLimits()
    /// How long an uncommitted session lives.
    public var sessionLifetime: Duration = .seconds(24 * 3600)
    /// How long an open session that has stored no partition lives (at most
    /// `sessionLifetime`): an empty session left by a client that died gives its slot back
    /// sooner. Must exceed the time the first partition upload of a session can take.
    public var emptySessionLifetime: Duration = .seconds(3600)
    /// How long closed (committed, aborted, expired) sessions stay visible to GetSession.
    public var closedSessionRetention: Duration = .seconds(24 * 3600)
    /// How long the change log keeps a change; older cursors are out of range.
    public var changeRetention: Duration = .seconds(7 * 24 * 3600)
    /// How long an upload's hold on the bytes it is storing lasts unless renewed (``BlobHold``;
    /// an upload renews it every quarter of this), so that the hold of an upload whose server
    /// died lapses; and how old a blob or staging file the database does not know must be before
    /// the collector removes it.
    public var blobGracePeriod: Duration = .seconds(3600)
    /// How long a delete the blob store gave up on may still reach its bytes (zero for a store
    /// whose deletes end with their call, as the disk's do): after a blob whose deletion failed
    /// once is deleted, no upload may store the same bytes again for this long (``Collector``).
    public var lingeringDeleteFence: Duration = .zero
    /// Most user metadata entries per object; key and value sizes in bytes.
    public var maxUserMetadataEntries = 64
    public var maxUserMetadataKeyBytes = 128
    public var maxUserMetadataValueBytes = 1024
    /// Largest page a listing returns.
    public var maxPageSize = 1000
    /// Share identical bytes across principals. Off by default: deduplication across
    /// principals would let one learn whether another holds a file.
    public var deduplicateAcrossPrincipals = false

    public init() {}

    /// The default quotas, which per-principal overrides replace.
    public var defaultQuotas: QuotaLimits {
        QuotaLimits(
            bytes: maxStoredBytesPerPrincipal, objects: maxObjectsPerPrincipal,
            sessions: Int64(maxOpenSessionsPerPrincipal))
    }
}
