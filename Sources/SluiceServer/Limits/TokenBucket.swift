import SluiceDuration

/// A token bucket: fills at `rate` tokens per second up to `capacity` (one second's worth),
/// and starts full. Time is passed in (a monotonic reading as a `Duration` since any fixed
/// origin), so tests drive it with a clock of their own.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens added per second.
    public private(set) var rate: Double
    /// The most tokens it holds: a burst of one second.
    public private(set) var capacity: Double
    /// May be negative: the debt of a byte taker that took more than there was.
    public private(set) var tokens: Double
    private var updated: Duration
    /// When the tokens promised to refused takers run out: each refusal names its own later
    /// time (one token apart), so callers that all wait their pushback do not come back at
    /// the same instant to fight over one token.
    private var promisedUntil: Duration

    /// How far past the next token refused takers are spread. A promise is not a reservation:
    /// a caller that retries at once, or gives up, leaves its promise behind, so without a
    /// bound a principal hammering its limit would push every pushback out by one token per
    /// refusal (tens of seconds, while tokens were there every fraction of a second). Past
    /// the horizon the promises start over from the next token.
    public static let promiseHorizon = Duration.seconds(2)

    /// A full bucket of `rate` per second (positive).
    public init(rate: Int64, now: Duration) {
        precondition(rate > 0, "a token bucket needs a positive rate")
        self.rate = Double(rate)
        self.capacity = Double(rate)
        self.tokens = Double(rate)
        self.updated = now
        self.promisedUntil = now
    }

    private mutating func refill(_ now: Duration) {
        guard now > updated else { return }
        tokens = min(capacity, tokens + rate * (now - updated).inSeconds)
        updated = now
    }

    /// Takes `count` tokens when the bucket holds them and answers nil; otherwise takes
    /// nothing and answers when to come back: the time until the bucket holds them, pushed
    /// past the times already promised to earlier refused takers (a queue of promises one
    /// token apart, forgotten once past, and at most ``promiseHorizon`` long). For refusing
    /// calls with a pushback.
    public mutating func take(_ count: Double = 1, now: Duration) -> Duration? {
        refill(now)
        if tokens >= count {
            tokens -= count
            return nil
        }
        let untilFilled = Self.wait((count - tokens) / rate)
        var wait = max(untilFilled, promisedUntil - now)
        if wait >= untilFilled + Self.promiseHorizon { wait = untilFilled }
        promisedUntil = now + wait + Self.wait(count / rate)
        return wait
    }

    /// Takes `count` tokens, into debt when there are not enough, and answers how long the
    /// taker must wait for the debt to be paid (zero without debt). For pacing bytes: a
    /// message larger than the bucket still passes, after its time. The debt stops at
    /// ``maxDebt`` seconds' worth: a bound, never reached by takers that take a step at a
    /// time, so that no number of takers can make a wait that cannot be slept.
    public mutating func takeOwing(_ count: Double, now: Duration) -> Duration {
        refill(now)
        tokens = max(tokens - count, -rate * Self.maxDebt.inSeconds)
        return tokens >= 0 ? .zero : Self.wait(-tokens / rate)
    }

    /// The most debt a bucket holds, in time.
    public static let maxDebt = Duration.seconds(3600)

    /// Whether less than half a burst is left: the taker is using its rate up, not just
    /// passing through below it.
    public mutating func isRunningLow(now: Duration) -> Bool {
        refill(now)
        return tokens < capacity / 2
    }

    /// Changes the rate (and capacity); the tokens held stay, capped at the new capacity.
    public mutating func setRate(_ rate: Int64, now: Duration) {
        precondition(rate > 0, "a token bucket needs a positive rate")
        refill(now)
        self.rate = Double(rate)
        self.capacity = Double(rate)
        tokens = min(tokens, capacity)
    }

    /// `seconds` as a wait, at most a day (a bucket's waits are far shorter: the bound only
    /// keeps the conversion from trapping).
    static func wait(_ seconds: Double) -> Duration {
        .seconds(clamping: seconds, atMost: .seconds(86_400))
    }
}
