import Foundation

/// A `sluice` configuration file: `key = value` lines naming the connection settings
/// (`server`, `ca`, `cert`, `key`). Blank lines and lines starting with `#` are ignored;
/// values may be quoted. Relative paths and `~` in `ca`, `cert` and `key` are resolved
/// against the file's directory and the home directory.
public struct ConfigFile: Sendable, Equatable {
    /// The keys a configuration file may set.
    public static let knownKeys: Set<String> = ["server", "ca", "cert", "key"]

    /// The settings the file gives, by key.
    public private(set) var values: [String: String] = [:]

    /// Parses the text of a configuration file found at `path` (used in messages and to
    /// resolve relative paths).
    public init(text: String, path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigFileError(path: path, line: number + 1, problem: "expected `key = value`")
            }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            guard Self.knownKeys.contains(key) else {
                throw ConfigFileError(
                    path: path, line: number + 1,
                    problem: "unknown key '\(key)'; known keys are \(Self.knownKeys.sorted().joined(separator: ", "))")
            }
            guard !value.isEmpty else {
                throw ConfigFileError(path: path, line: number + 1, problem: "'\(key)' has no value")
            }
            values[key] = key == "server" ? value : Self.resolvePath(value, relativeTo: directory)
        }
    }

    /// Reads and parses the file at `path`.
    public init(contentsOf path: String) throws {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigFileError(path: path, line: nil, problem: "cannot be read")
        }
        try self.init(text: text, path: path)
    }

    private static func resolvePath(_ value: String, relativeTo directory: String) -> String {
        let expanded = (value as NSString).expandingTildeInPath
        if expanded.hasPrefix("/") || directory.isEmpty { return expanded }
        return (directory as NSString).appendingPathComponent(expanded)
    }
}

/// A configuration file that cannot be used.
public struct ConfigFileError: Error, CustomStringConvertible {
    public var path: String
    /// The 1-based line at fault; nil when the whole file is.
    public var line: Int?
    public var problem: String

    public var description: String {
        if let line { return "config file \(path), line \(line): \(problem)" }
        return "config file \(path) \(problem)"
    }
}
