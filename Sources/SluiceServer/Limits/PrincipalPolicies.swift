import SluiceStore

/// What a call's caller resolves to (see `CallerDirectory`): its principal and its settings
/// (limit overrides, disabled), cached for `freshness` so that most calls read no database.
///
/// A change made through this instance's AdminService applies at once (`forget`); one made
/// through another instance on the same database applies here within `freshness`.
public final class PrincipalPolicies: Sendable {
    public struct Policy: Sendable {
        public var principal: Principal
        public var settings: PrincipalSettings
        var loadedAt: ContinuousClock.Instant
    }

    /// Keyed by the identity's UTF-8 bytes (canonically equivalent spellings are different identities).
    private let cache = ShardedMap<[UInt8], Policy>()
    private let storage: Storage
    private let administration: PrincipalAdministration
    public let freshness: Duration

    public init(storage: Storage, administration: PrincipalAdministration, freshness: Duration = .seconds(2)) {
        self.storage = storage
        self.administration = administration
        self.freshness = freshness
    }

    /// The policy of the principal the mapping names `name` (recorded on first sight).
    public func policy(named name: String) async throws -> Policy {
        let key = Array(name.utf8)
        let now = ContinuousClock.now
        if let cached = cache.withShard(of: key, { $0[key] }), now - cached.loadedAt < freshness { return cached }
        let principal = try await storage.principals.principal(named: name)
        let settings = try await administration.settings(of: principal.id)
        let policy = Policy(principal: principal, settings: settings, loadedAt: now)
        cache.withShard(of: key) { $0[key] = policy }
        return policy
    }

    /// Drops the cached policy of `identity`, so the next call reads the database.
    public func forget(identity: String) {
        let key = Array(identity.utf8)
        _ = cache.withShard(of: key) { $0.removeValue(forKey: key) }
    }
}
