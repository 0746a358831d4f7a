import SluiceRPC
import SluiceStore

/// The limits every caller is held to, checked by `StorageCallInterceptor` before the handler
/// runs, for the caller it resolved: refuses a disabled principal (PERMISSION_DENIED) and a
/// principal over its request rate (RESOURCE_EXHAUSTED with `grpc-retry-pushback-ms`), and
/// paces the bytes of the rest by their byte rates. Administrators (`--admin`) are never
/// refused as disabled, so they can always undo it.
public struct LimitAdmission: Sendable {
    let limiters: PrincipalLimiters
    let traffic: TrafficRecorder
    let defaults: RateLimits
    let admins: AdminRoster

    public init(limiters: PrincipalLimiters, traffic: TrafficRecorder, defaults: RateLimits, admins: AdminRoster) {
        self.limiters = limiters
        self.traffic = traffic
        self.defaults = defaults
        self.admins = admins
    }

    /// The meter of an admitted call's bytes; throws the refusal of a refused one.
    func admit(_ caller: Caller) throws(RPCError) -> any CallByteMeter {
        if caller.settings.disabled, !admins.contains(caller.name) {
            throw LimitRefusals.refuse(.disabled(handle: caller.principal.handle))
        }
        let limiter = limiters.limiter(for: caller.principal.id)
        limiter.update(caller.settings.rates(defaults: defaults))
        if let refused = limiter.admitRequest() {
            throw LimitRefusals.refuse(.requestRate(limit: refused.limit, wait: refused.wait))
        }
        return PrincipalByteMeter(limiter: limiter, traffic: traffic, principalID: caller.principal.id)
    }
}
