import Foundation
import Logging

/// Writes one log line per event to standard error in logfmt (`key=value` pairs), so logs
/// are both readable and machine-parsable:
/// `ts=2026-11-21T10:00:00.000Z level=info msg="listening" address=127.0.0.1:8443`.
public struct KeyValueLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = [
            "ts=\(Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(Date()))",
            "level=\(event.level)",
            "logger=\(label)",
            "msg=\(Self.quote(event.message.description))",
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            fields.append("\(key)=\(Self.quote(merged[key]!.description))")
        }
        FileHandle.standardError.write(Data((fields.joined(separator: " ") + "\n").utf8))
    }

    private static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }
        guard needsQuotes else { return value }
        let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }

    /// Installs this handler for every logger of the process.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in KeyValueLogHandler(label: label, level: level) }
    }
}
