/// Which deduplication scope a principal's bytes are stored under: its own by default,
/// one shared scope when the operator allows deduplication across principals. A grantee's
/// upload into an owner's folder is the owner's bytes: it is stored under the owner's scope.
enum BlobScope {
    static func of(owner ownerID: Int64, limits: StorageLimits) -> String {
        limits.deduplicateAcrossPrincipals ? "shared" : "p\(ownerID)"
    }

    /// The same rule as SQL, for a statement that leases a blob of an owner it reads itself;
    /// `owner` is the SQL expression of the owner's id.
    static func sql(owner: String, limits: StorageLimits) -> String {
        limits.deduplicateAcrossPrincipals ? "'shared'" : "'p' || (\(owner))::text"
    }
}
