/// What one principal may store at once. 0 means unlimited.
public struct QuotaLimits: Sendable, Equatable {
    /// Logical bytes (every version of every owned object) plus bytes reserved by open sessions.
    public var bytes: Int64
    /// Objects owned, plus new names that open sessions would create.
    public var objects: Int64
    /// Upload sessions open at once (the caller's, whoever owns the object).
    public var sessions: Int64

    public init(bytes: Int64 = 0, objects: Int64 = 0, sessions: Int64 = 0) {
        self.bytes = bytes
        self.objects = objects
        self.sessions = sessions
    }
}

/// How fast one principal may call and move bytes, per second. 0 means unlimited.
public struct RateLimits: Sendable, Equatable {
    public var requestsPerSecond: Int64
    public var bytesInPerSecond: Int64
    public var bytesOutPerSecond: Int64

    public init(requestsPerSecond: Int64 = 0, bytesInPerSecond: Int64 = 0, bytesOutPerSecond: Int64 = 0) {
        self.requestsPerSecond = requestsPerSecond
        self.bytesInPerSecond = bytesInPerSecond
        self.bytesOutPerSecond = bytesOutPerSecond
    }
}

/// A limit an administrator can override for one principal; the raw value is its column in
/// `principal_limits`.
public enum LimitKind: String, Sendable, CaseIterable {
    case quotaBytes = "quota_bytes"
    case quotaObjects = "quota_objects"
    case quotaSessions = "quota_sessions"
    case requestsPerSecond = "requests_per_second"
    case bytesInPerSecond = "bytes_in_per_second"
    case bytesOutPerSecond = "bytes_out_per_second"

    /// The largest value the limit takes, as a server default (its flag) or as an override
    /// alike: 2^60 (an exbibyte, or that many objects or requests a second), and a million
    /// open sessions. 0, the smallest, means no limit.
    public var largest: Int64 {
        self == .quotaSessions ? 1_000_000 : 1 << 60
    }
}

/// One principal's overrides (a missing kind takes the server's default) and whether it is
/// disabled, as stored.
public struct PrincipalSettings: Sendable, Equatable {
    public var overrides: [LimitKind: Int64]
    public var disabled: Bool

    public init(overrides: [LimitKind: Int64] = [:], disabled: Bool = false) {
        self.overrides = overrides
        self.disabled = disabled
    }

    /// The quotas that apply: each override, else the default.
    public func quotas(defaults: QuotaLimits) -> QuotaLimits {
        QuotaLimits(
            bytes: overrides[.quotaBytes] ?? defaults.bytes, objects: overrides[.quotaObjects] ?? defaults.objects,
            sessions: overrides[.quotaSessions] ?? defaults.sessions)
    }

    /// The rate limits that apply: each override, else the default.
    public func rates(defaults: RateLimits) -> RateLimits {
        RateLimits(
            requestsPerSecond: overrides[.requestsPerSecond] ?? defaults.requestsPerSecond,
            bytesInPerSecond: overrides[.bytesInPerSecond] ?? defaults.bytesInPerSecond,
            bytesOutPerSecond: overrides[.bytesOutPerSecond] ?? defaults.bytesOutPerSecond)
    }
}
