import SluiceRPC
import SluiceStore

/// The limits every caller is held to, checked by `StorageCallInterceptor` before the handler
/// runs, for the caller it resolved: refuses a disabled principal (PERMISSION_DENIED), a
/// principal over its request rate (RESOURCE_EXHAUSTED with `grpc-retry-pushback-ms`) and one
/// with `maxCallsPerPrincipal` calls in progress already (RESOURCE_EXHAUSTED: one principal's
/// idle watchers or stalled uploads must not take every call handler and staging file the
/// others need), and paces the bytes of the rest by their byte rates. Administrators
/// (`--admin`) are never refused as disabled, so they can always undo it.
public struct LimitAdmission: Sendable {
    let limiters: PrincipalLimiters
    let traffic: TrafficRecorder
    let defaults: RateLimits
    let admins: AdminRoster
    /// Most calls one principal may have in progress at once on this instance; 0: no limit.
    let maxCallsPerPrincipal: Int

    public init(
        limiters: PrincipalLimiters, traffic: TrafficRecorder, defaults: RateLimits, admins: AdminRoster,
        maxCallsPerPrincipal: Int = 0
    ) {
        self.limiters = limiters
        self.traffic = traffic
        self.defaults = defaults
        self.admins = admins
        self.maxCallsPerPrincipal = maxCallsPerPrincipal
    }

    /// The meter of an admitted call's bytes; throws the refusal of a refused one. `current`
    /// finds the caller as it is now, for the meter to admit it again while the call runs
    /// (``PrincipalByteMeter``). Past `certificateExpiry` (the connection's client certificate's
    /// notAfter) the caller is refused, now or at a later admission (``CertificateExpiry``).
    func admit(
        _ caller: Caller, certificateExpiry: Int64? = nil, current: @escaping @Sendable () async throws -> Caller
    ) throws(RPCError) -> PrincipalByteMeter {
        try CertificateExpiry.requireUnexpired(certificateExpiry)
        try requireEnabled(caller)
        let limiter = limiters.limiter(for: caller.principal.id)
        limiter.update(caller.settings.rates(defaults: defaults))
        if let refused = limiter.admitRequest() {
            throw LimitRefusals.refuse(.requestRate(limit: refused.limit, wait: refused.wait))
        }
        // Counted out when the call ends (the meter's `finished`).
        guard limiter.enterCall(limit: maxCallsPerPrincipal) else {
            throw LimitRefusals.refuse(.calls(limit: maxCallsPerPrincipal))
        }
        return PrincipalByteMeter(limiter: limiter, traffic: traffic, principalID: caller.principal.id) {
            try CertificateExpiry.requireUnexpired(certificateExpiry)
            // Only a definite "disabled" ends a running call: one whose caller cannot be looked
            // up now (the database is down a moment) goes on, as it would have without this check.
            guard let now = try? await current() else { return }
            try requireEnabled(now)
            // A rate set or cleared since the call began applies to it from its next step.
            limiter.update(now.settings.rates(defaults: defaults))
        }
    }

    /// Refuses a caller an administrator has disabled, unless it is an administrator itself.
    private func requireEnabled(_ caller: Caller) throws(RPCError) {
        if caller.settings.disabled, !admins.contains(caller.name) {
            throw LimitRefusals.refuse(.disabled(handle: caller.principal.handle))
        }
    }
}
