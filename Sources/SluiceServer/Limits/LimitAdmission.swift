import SluiceRPC
import SluiceStore

/// The admission of every storage call (see `CallAdmission`): refuses a disabled principal
/// (PERMISSION_DENIED) and a principal over its request rate (RESOURCE_EXHAUSTED with
/// `grpc-retry-pushback-ms`), and paces the bytes of the rest by their byte rates.
///
/// Health and reflection are not governed (load balancers and tools call them without an
/// identity), nor are calls whose certificate names no principal (their handler refuses them).
/// Administrators (`--admin`) are never refused as disabled, so they can always undo it.
public struct LimitAdmission: CallAdmission {
    let identity: CallerIdentity
    let policies: PrincipalPolicies
    let limiters: PrincipalLimiters
    let traffic: TrafficRecorder
    let defaults: RateLimits
    let admins: AdminRoster

    public init(
        identity: CallerIdentity, policies: PrincipalPolicies, limiters: PrincipalLimiters, traffic: TrafficRecorder,
        defaults: RateLimits, admins: AdminRoster
    ) {
        self.identity = identity
        self.policies = policies
        self.limiters = limiters
        self.traffic = traffic
        self.defaults = defaults
        self.admins = admins
    }

    static let ungoverned: Set<String> = [
        "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    ]

    public func admit(_ context: ServerContext) async throws -> (any CallByteMeter)? {
        guard !Self.ungoverned.contains(context.method.service), let peer = context.peer,
              let name = try? identity.mapping.principalName(of: peer)
        else { return nil }
        let policy = try await mappingStorageErrors { try await policies.policy(named: name) }
        if policy.settings.disabled, !admins.contains(name) {
            throw LimitRefusals.refuse(.disabled(handle: policy.principal.handle))
        }
        let limiter = limiters.limiter(for: policy.principal.id)
        let rates = policy.settings.rates(defaults: defaults)
        limiter.update(rates)
        if let refused = limiter.admitRequest() {
            throw LimitRefusals.refuse(.requestRate(limit: refused.limit, wait: refused.wait))
        }
        return PrincipalByteMeter(limiter: limiter, traffic: traffic, principalID: policy.principal.id)
    }
}
