import Foundation

/// Defaults for command-line options taken from environment variables, so every flag of
/// `sluiced` can also be set as `SLUICED_<NAME>` (a flag on the command line wins).
public enum EnvironmentDefaults {
    public static func string(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static func string(_ name: String, default fallback: String) -> String {
        string(name) ?? fallback
    }

    public static func int(_ name: String, default fallback: Int) -> Int {
        string(name).flatMap(Int.init) ?? fallback
    }

    /// The variable as an integer; nil when unset (or not an integer).
    public static func optionalInt(_ name: String) -> Int? {
        string(name).flatMap(Int.init)
    }

    /// "1", "true", "yes" and "on" (any case) are true.
    public static func bool(_ name: String) -> Bool {
        guard let value = string(name)?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(value)
    }
}
