import ArgumentParser
import Foundation
import Synchronization

/// Defaults for command-line options taken from environment variables, so every flag of
/// `sluiced` can also be set as `SLUICED_<NAME>` (a flag on the command line wins).
///
/// A variable that is set but cannot be read as its option's type is remembered and reported by
/// ``checkReadable()`` when the options are validated: a typo in a unit file stops sluiced with
/// the variable named, instead of leaving the default in force without a word.
public enum EnvironmentDefaults {
    private static let unreadable = Mutex<[String]>([])

    public static func string(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static func string(_ name: String, default fallback: String) -> String {
        string(name) ?? fallback
    }

    public static func int(_ name: String, default fallback: Int) -> Int {
        optionalInt(name) ?? fallback
    }

    /// The variable as an integer; nil when unset (or not an integer, which is reported).
    public static func optionalInt(_ name: String) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            remember("\(name)='\(text)' is not an integer")
            return nil
        }
        return value
    }

    /// "1", "true", "yes" and "on" (any case) are true; "0", "false", "no" and "off" false.
    public static func bool(_ name: String) -> Bool {
        guard let value = string(name)?.lowercased() else { return false }
        if ["1", "true", "yes", "on"].contains(value) { return true }
        if !["0", "false", "no", "off"].contains(value) {
            remember("\(name)='\(value)' is not a boolean (1, true, yes, on or 0, false, no, off)")
        }
        return false
    }

    /// A repeatable option's values, one per line (identities may hold commas and semicolons,
    /// never a line break); blank lines and surrounding spaces are ignored.
    public static func lines(_ name: String) -> [String] {
        (string(name) ?? "").split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }

    /// Throws naming every variable that was set but could not be read.
    public static func checkReadable() throws {
        let problems = unreadable.withLock { $0 }
        guard problems.isEmpty else {
            throw ValidationError("environment: " + problems.joined(separator: "; "))
        }
    }

    private static func remember(_ problem: String) {
        unreadable.withLock { problems in
            if !problems.contains(problem) { problems.append(problem) }
        }
    }
}
