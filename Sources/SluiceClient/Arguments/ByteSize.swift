import ArgumentParser

/// A byte count written for people: a number with an optional unit, binary (KiB, MiB, GiB,
/// also K, M, G) or decimal (KB, MB, GB); no unit or B means bytes. "8MiB", "8M", "512k",
/// "1048576".
public struct ByteSize: Sendable, Equatable, ExpressibleByArgument, CustomStringConvertible {
    public var bytes: Int64

    public init(bytes: Int64) {
        self.bytes = bytes
    }

    public init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let digits = text.prefix { $0.isNumber }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        let multipliers: [String: Int64] = [
            "": 1, "b": 1,
            "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30,
            "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000,
        ]
        guard !digits.isEmpty, let value = Int64(digits), let multiplier = multipliers[unit] else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        self.bytes = bytes
    }

    public var description: String { Format.bytes(bytes) }
}
