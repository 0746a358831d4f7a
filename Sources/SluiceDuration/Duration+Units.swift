/// The one place a `Duration` becomes a plain number (for SQL, logs, libc, Foundation, NIO and
/// metrics) or is made from one. Every conversion saturates instead of trapping, so a duration
/// of any size, even one a peer chose, converts.
extension Duration {
    /// The duration in seconds, fractions included.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }

    /// Whole nanoseconds (rounded toward zero), at most `Int64.max` (about 292 years).
    public var inNanoseconds: Int64 {
        Int64(clamping: inNanosecondsExactly)
    }

    /// Whole nanoseconds (rounded toward zero) of any duration: 128 bits hold every one.
    public var inNanosecondsExactly: Int128 {
        let (seconds, attoseconds) = components
        return Int128(seconds) * 1_000_000_000 + Int128(attoseconds / 1_000_000_000)
    }

    /// Whole milliseconds, rounded up: a wait given in milliseconds never ends before the
    /// duration has passed. At most `Int64.max`.
    public var inMillisecondsRoundedUp: Int64 {
        let (seconds, attoseconds) = components
        let fraction = attoseconds > 0 ? (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000 : 0
        return Int64(clamping: Int128(seconds) * 1_000 + Int128(fraction))
    }

    /// `seconds` as a duration rounded up to whole nanoseconds (whole seconds past 292 years,
    /// which nanoseconds in 64 bits do not reach), from zero (negative amounts and NaN) to
    /// `limit`.
    public static func seconds(clamping seconds: Double, atMost limit: Duration) -> Duration {
        guard seconds > 0 else { return .zero }
        guard seconds < limit.inSeconds else { return limit }
        if seconds < 9e9 { return .nanoseconds(Int64((seconds * 1e9).rounded(.up))) }
        return seconds < 9e18 ? .seconds(Int64(seconds.rounded(.up))) : limit
    }
}
