/// Handles: the stable, readable names principals share with (`alice`, `build-bot.ci`).
/// Lower-case ASCII letters, digits, `.`, `_` and `-`, 1 to 64 characters.
public enum PrincipalHandle {
    public static let maxLength = 64

    /// Whether `handle` is spelled as a handle must be.
    public static func isValid(_ handle: String) -> Bool {
        (1...maxLength).contains(handle.utf8.count) && handle.utf8.allSatisfy(isAllowed)
    }

    /// Returns `handle` when it is spelled as a handle must be; INVALID_ARGUMENT naming `field`
    /// otherwise. Every handle a client sends that is looked up in the database passes here
    /// first: no stored handle is spelled otherwise, so a refusal reveals nothing, and text
    /// PostgreSQL cannot hold (a NUL) never reaches it.
    public static func parse(_ handle: String, field: String) throws(StorageError) -> String {
        guard isValid(handle) else {
            throw .invalidArgument(
                "\(field) \(quoted(handle)) is not a principal's handle: a handle is 1 to \(maxLength) of a-z, 0-9, "
                    + "'.', '_' and '-' (sluice whoami prints yours)")
        }
        return handle
    }

    /// `text` cut to 80 characters and quoted with control characters (NUL among them)
    /// escaped, for messages that echo a client's text.
    static func quoted(_ text: String) -> String {
        let cut = text.count > 80 ? String(text.prefix(80)) + "…" : text
        let escaped = cut.unicodeScalars.map { scalar in
            scalar.properties.generalCategory == .control ? scalar.escaped(asASCII: true) : String(scalar)
        }
        return "'" + escaped.joined() + "'"
    }

    /// The handle a principal identity suggests (before any suffix that makes it unique):
    /// the subject's CN, else the first SAN's value (a URI's last path segment, a DNS name),
    /// else the whole identity; lower-cased, every run of other characters made one `-`,
    /// trimmed of `-`, cut to leave room for a suffix. `principal` when nothing is left.
    public static func suggested(by identity: String) -> String {
        let reduced = reduce(readablePart(of: identity))
        return reduced.isEmpty ? "principal" : reduced
    }

    /// The longest a suggested handle gets, leaving room for `-` and a 7-digit suffix.
    static let maxSuggestedLength = maxLength - 8

    private static func readablePart(of identity: String) -> String {
        let parts = identity.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        let subject = parts.first ?? ""
        if let cn = commonName(in: subject) { return cn }
        for san in parts.dropFirst() {
            guard let equals = san.firstIndex(of: "=") else { continue }
            let value = String(san[san.index(after: equals)...])
            if !value.isEmpty { return lastSegment(of: value) }
        }
        if !subject.isEmpty, !subject.contains("=") { return lastSegment(of: subject) }
        return subject
    }

    /// The CN of an RFC 2253 subject (`CN=alice,O=Example`), if it has one, unescaped:
    /// OpenSSL writes `CN=café` as `CN=caf\C3\A9` and `CN=Smith, J` as `CN=Smith\, J`, and a
    /// handle is made from the name, not from its escapes.
    private static func commonName(in subject: String) -> String? {
        for attribute in unescapedAttributes(of: subject) {
            let pair = attribute.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2, pair[0].trimmingSpaces.uppercased() == "CN", !pair[1].isEmpty { return pair[1] }
        }
        return nil
    }

    /// The `TYPE=value` attributes of an RFC 2253 subject, split at unescaped commas, with
    /// `\XX` (a byte in hex) and `\c` (the character c) escapes undone.
    private static func unescapedAttributes(of subject: String) -> [String] {
        var attributes: [String] = []
        var current: [UInt8] = []
        var bytes = subject.utf8.makeIterator()
        while let byte = bytes.next() {
            switch byte {
            case UInt8(ascii: "\\"):
                guard let next = bytes.next() else { break }
                if let high = hexValue(next), let low = bytes.next() {
                    if let low = hexValue(low) { current.append(high << 4 | low) } else { current += [next, low] }
                } else {
                    current.append(next)
                }
            case UInt8(ascii: ","):
                attributes.append(String(decoding: current, as: UTF8.self))
                current = []
            default:
                current.append(byte)
            }
        }
        attributes.append(String(decoding: current, as: UTF8.self))
        return attributes
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// `spiffe://example.org/ns/prod/sa/alice` → `alice`; other values stay whole.
    private static func lastSegment(of value: String) -> String {
        guard value.contains("://") else { return value }
        return value.split(separator: "/").last.map(String.init) ?? value
    }

    private static func reduce(_ text: String) -> String {
        var out: [UInt8] = []
        for byte in text.lowercased().utf8 {
            if isAllowed(byte) {
                out.append(byte)
            } else if out.last != UInt8(ascii: "-") {
                out.append(UInt8(ascii: "-"))
            }
        }
        while out.first == UInt8(ascii: "-") { out.removeFirst() }
        if out.count > maxSuggestedLength { out = Array(out.prefix(maxSuggestedLength)) }
        while out.last == UInt8(ascii: "-") { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }
}

extension String {
    fileprivate var trimmingSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
