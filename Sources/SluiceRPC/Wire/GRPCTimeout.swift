import SluiceDuration

/// The `grpc-timeout` header: digits and a unit (H, M, S, m, u, n).
public enum GRPCTimeout {
    /// Parses a header value; nil when it is malformed. The spec sends at most eight
    /// digits; up to eighteen are accepted, as other implementations do.
    public static func parse(_ text: String) -> Duration? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8.count <= 19, let unit = utf8.last else { return nil }
        let digits = utf8.dropLast()
        guard digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let amount = Int64(String(decoding: digits, as: UTF8.self))
        else { return nil }
        switch unit {
        case UInt8(ascii: "H"): return .seconds(min(saturatingProduct(amount, 3600), maxSeconds))
        case UInt8(ascii: "M"): return .seconds(min(saturatingProduct(amount, 60), maxSeconds))
        case UInt8(ascii: "S"): return .seconds(min(amount, maxSeconds))
        case UInt8(ascii: "m"): return .milliseconds(amount)
        case UInt8(ascii: "u"): return .microseconds(amount)
        case UInt8(ascii: "n"): return .nanoseconds(amount)
        default: return nil
        }
    }

    /// The longest timeout honoured: the spec's largest (99999999 hours). Longer ones are
    /// cut to it, so deadline arithmetic can never overflow.
    static let maxSeconds: Int64 = 99_999_999 * 3600

    private static func saturatingProduct(_ amount: Int64, _ factor: Int64) -> Int64 {
        let (product, overflow) = amount.multipliedReportingOverflow(by: factor)
        return overflow ? Int64.max : product
    }

    /// Formats a duration in the finest unit whose amount fits in eight digits, rounding up
    /// so the server never sees a shorter deadline than the caller set.
    public static func format(_ duration: Duration) -> String {
        // In 128 bits: a Duration of centuries overflows 64.
        let nanoseconds = max(0, duration.inNanosecondsExactly)
        let units: [(Int128, String)] = [
            (1, "n"), (1_000, "u"), (1_000_000, "m"), (1_000_000_000, "S"),
            (60_000_000_000, "M"), (3_600_000_000_000, "H"),
        ]
        for (scale, unit) in units {
            let amount = (nanoseconds + scale - 1) / scale
            if amount < 100_000_000 { return "\(amount)\(unit)" }
        }
        return "99999999H"
    }

}
