import ArgumentParser
import SluiceStore

/// The range a numeric flag of sluiced (or its environment variable) must fall in, checked at
/// start-up. Every such flag has one: a value too large for what it feeds — a timestamp or an
/// interval in PostgreSQL, nanoseconds in a 64-bit timer, a 32-bit HTTP/2 setting — would
/// otherwise crash sluiced or fail every collector pass later, far from its cause.
struct FlagRange {
    var name: String
    var value: Int
    var range: ClosedRange<Int>
    /// The unit, spelled after the upper bound ("seconds", "bytes"); empty for a count.
    var unit: String
    /// What the lower bound means when it is special ("0: no limit"); empty otherwise.
    var note: String

    /// The longest duration any flag takes: ten years, in seconds.
    static let maxSeconds = 10 * 365 * 86_400
    /// The largest byte count a flag takes: 2^60, an exbibyte.
    static let maxAmount = 1 << 60
    /// The largest value of a 32-bit HTTP/2 setting.
    static let maxSetting = Int(Int32.max)

    init(_ name: String, _ value: Int, _ range: ClosedRange<Int>, unit: String = "", note: String = "") {
        self.name = name
        self.value = value
        self.range = range
        self.unit = unit
        self.note = note
    }

    /// A duration in seconds, `lowest` (0 or 1) to ``maxSeconds``.
    static func seconds(_ name: String, _ value: Int, from lowest: Int = 1, note: String = "") -> FlagRange {
        FlagRange(name, value, lowest...maxSeconds, unit: "seconds", note: note)
    }

    /// The server's default of a limit an administrator can also override per principal: the
    /// same range as the override (``LimitKind/largest``).
    static func limit(_ name: String, _ value: Int, _ kind: LimitKind, unit: String = "") -> FlagRange {
        FlagRange(name, value, 0...Int(kind.largest), unit: unit, note: "0 means no limit")
    }

    /// Throws the first flag outside its range, naming the range and the value given.
    static func check(_ flags: [FlagRange]) throws {
        for flag in flags where !flag.range.contains(flag.value) {
            let unit = flag.unit.isEmpty ? "" : " \(flag.unit)"
            let note = flag.note.isEmpty ? "" : " (\(flag.note))"
            throw ValidationError(
                "\(flag.name) must be \(flag.range.lowerBound) to \(flag.range.upperBound)\(unit)\(note), got \(flag.value)")
        }
    }
}
