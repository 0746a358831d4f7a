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
            "logger=\(Self.quote(label))",
            "msg=\(Self.quote(event.message.description))",
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for key in merged.keys.sorted() {
            fields.append("\(Self.escapedKey(key))=\(Self.quote(merged[key]!.description))")
        }
        FileHandle.standardError.write(Data((fields.joined(separator: " ") + "\n").utf8))
    }

    /// A value as logfmt wants it: bare when it is plain, else in double quotes. Every value
    /// passes through here, and clients choose many of them (object names, metadata keys), so
    /// nothing that could end a line, fake a field, move the cursor or reorder text reaches the
    /// log raw: backslash and quote are escaped, and so is every control character (C0, DEL,
    /// C1 including NEL), line and paragraph separator (U+2028, U+2029) and format character
    /// (zero-width and bidirectional controls) — as `\n`, `\r`, `\t` or `\u{HEX}`.
    static func quote(_ value: String) -> String {
        var escaped = ""
        var needsQuotes = value.isEmpty
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"; needsQuotes = true
            case "\"": escaped += "\\\""; needsQuotes = true
            case " ", "=": escaped.unicodeScalars.append(scalar); needsQuotes = true
            case "\n": escaped += "\\n"; needsQuotes = true
            case "\r": escaped += "\\r"; needsQuotes = true
            case "\t": escaped += "\\t"; needsQuotes = true
            case _ where mustEscape(scalar):
                escaped += "\\u{\(String(scalar.value, radix: 16))}"
                needsQuotes = true
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return needsQuotes ? "\"\(escaped)\"" : escaped
    }

    /// A key never needs quotes; anything but a plain character becomes `_`.
    static func escapedKey(_ key: String) -> String {
        var text = String.UnicodeScalarView()
        for scalar in key.unicodeScalars {
            let plain = !mustEscape(scalar) && !" =\"\\".unicodeScalars.contains(scalar)
            text.append(plain ? scalar : "_")
        }
        return text.isEmpty ? "_" : String(text)
    }

    private static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .format, .surrogate, .privateUse, .unassigned:
            return true
        default:
            return false
        }
    }

    /// Installs this handler for every logger of the process.
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in KeyValueLogHandler(label: label, level: level) }
    }
}
