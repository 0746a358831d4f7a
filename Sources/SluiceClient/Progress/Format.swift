import Foundation
import SluiceDuration

/// How sizes, rates, durations and times are written for people.
public enum Format {
    /// Binary units with one decimal: "0 B", "999 B", "1.0 KiB", "8.0 MiB", "1.5 GiB".
    public static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        guard abs(count) >= 1024 else { return "\(count) B" }
        var value = Double(count)
        var unit = 0
        while abs(value) >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if abs(value) >= 999.95 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        // Integer tenths rather than String(format:), which costs tens of microseconds a call:
        // a transfer of small partitions prints a line per partition.
        let tenths = Int64((value * 10).rounded(.toNearestOrEven))
        return "\(tenths < 0 ? "-" : "")\(abs(tenths) / 10).\(abs(tenths) % 10) \(units[unit])"
    }

    /// A transfer rate: "12.3 MiB/s".
    public static func rate(bytesPerSecond: Double) -> String {
        bytes(Int64(bytesPerSecond.rounded())) + "/s"
    }

    /// A duration rounded to whole seconds: "0s", "42s", "3m07s", "1h02m".
    public static func duration(seconds: Double) -> String {
        let total = Int(max(0, seconds).rounded())
        if total < 60 { return "\(total)s" }
        if total < 3600 { return String(format: "%dm%02ds", total / 60, total % 60) }
        return String(format: "%dh%02dm", total / 3600, (total % 3600) / 60)
    }

    /// A duration with a tenth of a second: "0.4s", "12.0s".
    public static func seconds(_ duration: Duration) -> String {
        String(format: "%.1fs", duration.inSeconds)
    }

    /// A UTC time in ISO 8601 to the second: "2026-11-21T06:26:52Z".
    public static func timestamp(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", parts.year!, parts.month!, parts.day!, parts.hour!, parts.minute!,
            parts.second!)
    }

    /// A percentage of `part` in `whole`, rounded down: "0%" to "100%"; "100%" of nothing.
    public static func percent(_ part: Int64, of whole: Int64) -> String {
        guard whole > 0 else { return "100%" }
        return "\(min(100, max(0, Int(Double(part) / Double(whole) * 100))))%"
    }
}
