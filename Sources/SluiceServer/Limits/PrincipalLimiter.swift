import SluiceStore
import Synchronization

/// The rate limits of one principal, as token buckets under a lock of its own: callers of
/// different principals never wait on each other.
public final class PrincipalLimiter: Sendable {
    private struct Buckets {
        /// The limits the buckets were made for (0: unlimited).
        var rates = RateLimits()
        var requests: TokenBucket?
        var bytesIn: TokenBucket?
        var bytesOut: TokenBucket?
    }

    private let buckets = Mutex(Buckets())
    private let clock: @Sendable () -> Duration
    /// The principal's calls in progress on this instance.
    private let calls = Atomic<Int>(0)

    public init(clock: @escaping @Sendable () -> Duration) {
        self.clock = clock
    }

    /// Brings the buckets to `rates` (cheap when unchanged).
    public func update(_ rates: RateLimits) {
        let now = clock()
        buckets.withLock { state in
            guard state.rates != rates else { return }
            state.rates = rates
            Self.adjust(&state.requests, to: rates.requestsPerSecond, now: now)
            Self.adjust(&state.bytesIn, to: rates.bytesInPerSecond, now: now)
            Self.adjust(&state.bytesOut, to: rates.bytesOutPerSecond, now: now)
        }
    }

    private static func adjust(_ bucket: inout TokenBucket?, to rate: Int64, now: Duration) {
        if rate <= 0 {
            bucket = nil
        } else if bucket == nil {
            bucket = TokenBucket(rate: rate, now: now)
        } else {
            bucket?.setRate(rate, now: now)
        }
    }

    /// Takes a request token: nil when the call may start, else how long until one is there
    /// (and the limit, for the message).
    public func admitRequest() -> (wait: Duration, limit: Int64)? {
        let now = clock()
        return buckets.withLock { state in
            guard var bucket = state.requests else { return nil }
            defer { state.requests = bucket }
            return bucket.take(now: now).map { ($0, state.rates.requestsPerSecond) }
        }
    }

    /// Counts a call in; false, counting nothing, when `limit` calls are in progress already
    /// (0: no limit). Every call counted in is counted out by ``leaveCall()``.
    public func enterCall(limit: Int) -> Bool {
        let now = calls.wrappingAdd(1, ordering: .relaxed).newValue
        guard limit > 0, now > limit else { return true }
        calls.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    /// Counts a call out.
    public func leaveCall() {
        calls.wrappingSubtract(1, ordering: .relaxed)
    }

    /// Whether the principal's request bytes are paced step by step now (``step(ofRate:)``):
    /// always under ``alwaysPacedBelow``, above it only while the principal uses its rate up.
    /// A step costs a hop and a WINDOW_UPDATE; taking a stream window's worth at once (up to
    /// 16 MiB) and paying for it afterwards holds the client still for that long.
    public var pacesBytesIn: Bool {
        let now = clock()
        return buckets.withLock { state in
            guard state.bytesIn != nil else { return false }
            return state.rates.bytesInPerSecond < Self.alwaysPacedBelow || state.bytesIn!.isRunningLow(now: now)
        }
    }

    /// The most bytes one paced call moves in one step: about a second's worth of `rate`, shared
    /// among the principal's calls in progress, so that each of them moves every second or so
    /// however many there are; at least a kilobyte.
    func step(ofRate rate: Int64) -> Int {
        let share = rate / Int64(max(1, calls.load(ordering: .relaxed)))
        return Int(clamping: max(1024, share))
    }

    /// The step of a paced request (see ``step(ofRate:)``); nil without a request byte rate.
    public var requestStep: Int? {
        let rate = buckets.withLock { $0.bytesIn == nil ? nil : $0.rates.bytesInPerSecond }
        return rate.map(step(ofRate:))
    }

    /// The step of a paced response (see ``step(ofRate:)``); nil without a response byte rate.
    public var responseStep: Int? {
        let rate = buckets.withLock { $0.bytesOut == nil ? nil : $0.rates.bytesOutPerSecond }
        return rate.map(step(ofRate:))
    }

    /// The request byte rate under which calls are always paced step by step: at it, a whole
    /// 16 MiB stream window is paid for in a quarter of a second, so a client never waits long
    /// behind a window taken at once.
    public static let alwaysPacedBelow: Int64 = 64 << 20

    /// Accounts `bytes` received; answers how long to pause before taking more.
    public func received(_ bytes: Int) -> Duration {
        let now = clock()
        return buckets.withLock { state in
            guard state.bytesIn != nil else { return .zero }
            return state.bytesIn!.takeOwing(Double(bytes), now: now)
        }
    }

    /// Accounts `bytes` about to be sent; answers how long to pause before sending them.
    public func sent(_ bytes: Int) -> Duration {
        let now = clock()
        return buckets.withLock { state in
            guard state.bytesOut != nil else { return .zero }
            return state.bytesOut!.takeOwing(Double(bytes), now: now)
        }
    }
}

/// Every principal's limiter, kept in shards so that looking one up never takes a lock
/// shared by everyone.
public final class PrincipalLimiters: Sendable {
    private let limiters = ShardedMap<Int64, PrincipalLimiter>()
    private let clock: @Sendable () -> Duration

    public init(clock: @escaping @Sendable () -> Duration = PrincipalLimiters.monotonic()) {
        self.clock = clock
    }

    /// The limiter of principal `id`, made on first use.
    public func limiter(for id: Int64) -> PrincipalLimiter {
        let clock = self.clock
        return limiters.withShard(of: id) { map in
            if let limiter = map[id] { return limiter }
            let limiter = PrincipalLimiter(clock: clock)
            map[id] = limiter
            return limiter
        }
    }

    /// The time since this clock was made, on the monotonic clock.
    public static func monotonic() -> @Sendable () -> Duration {
        let origin = ContinuousClock.now
        return { ContinuousClock.now - origin }
    }
}
