import SluicePostgres

/// The storage system as one value: metadata in PostgreSQL, bytes in a blob store, and
/// the pieces that work on them. Services hold one of these.
public struct Storage: Sendable {
    public let principals: PrincipalDirectory
    public let sessions: UploadSessions
    public let objects: ObjectCatalog
    public let grants: Grants
    /// The change log, as callers read it.
    public let changes: ChangeFeed
    public let collector: Collector
    public let blobs: any BlobStore
    public let limits: StorageLimits
    /// Where reads record the damage they find (the damaged_blobs table).
    public let damage: DamageLedger
    /// Usage figures and the traffic record.
    public let usage: UsageLedger
    /// Limit overrides and the disabled flag of principals.
    public let administration: PrincipalAdministration

    /// `pageTokens` authenticates listing cursors; give every instance sharing a database the
    /// same key (``PageTokens/shared(in:)``) so that they accept each other's tokens.
    public init(database: PostgresPool, blobs: any BlobStore, limits: StorageLimits, pageTokens: PageTokens = .random()) {
        self.principals = PrincipalDirectory(database: database)
        self.sessions = UploadSessions(database: database, blobs: blobs, limits: limits, pageTokens: pageTokens)
        self.objects = ObjectCatalog(database: database, blobs: blobs, limits: limits, pageTokens: pageTokens)
        self.grants = Grants(database: database, blobs: blobs, limits: limits, pageTokens: pageTokens)
        self.changes = ChangeFeed(database: database)
        self.collector = Collector(database: database, blobs: blobs, limits: limits)
        self.blobs = blobs
        self.limits = limits
        self.damage = DamageLedger(database: database)
        self.usage = UsageLedger(database: database)
        self.administration = PrincipalAdministration(
            database: database, blobs: blobs, limits: limits, pageTokens: pageTokens)
    }

    /// Brings the database schema up to date; run once at start-up (safe to run from
    /// several instances at once).
    public static func migrate(_ database: PostgresPool) async throws {
        try await Migrator.migrate(database, Schema.migrations)
    }
}
