/// Which deduplication scope a principal's bytes are stored under: its own by default,
/// one shared scope when the operator allows deduplication across principals.
enum BlobScope {
    static func of(_ principal: Principal, limits: StorageLimits) -> String {
        limits.deduplicateAcrossPrincipals ? "shared" : "p\(principal.id)"
    }
}
