/// Makes text from the server safe to print. Object names, prefixes, handles, metadata and
/// server messages are data that other principals choose (anyone with write access to a
/// shared folder names its objects): printed raw, an ESC sequence in a name could recolour
/// the terminal, move the cursor, retitle the window or worse, and a newline could fake
/// listing lines, and a bidirectional override (U+202E) could show `txt.exe` as `exe.txt`.
/// Every line `sluice` prints passes through here: human-readable lines through `escaped`,
/// JSON lines through `json`.
public enum TerminalText {
    /// The text with every control character escaped: C0 (U+0000–U+001F) and DEL as `\xNN`
    /// (tab, newline and carriage return as `\t`, `\n`, `\r`), C1 (U+0080–U+009F, which some
    /// terminals obey as 8-bit escapes) as `\u00NN`, the invisible formatting characters of
    /// ``isInvisibleFormat(_:)`` as `\uNNNN`, and the backslash itself as `\\`, so that an
    /// escaped name never looks like another name (`a\nb` printed is `a\\nb`).
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars { append(scalar, to: &out) }
        return out
    }

    /// A name that is not valid UTF-8 (a local file name from an ISO-8859-1 system), shown as
    /// ``escaped(_:)`` shows text, each byte that is no part of a UTF-8 character as `\xHH`:
    /// `bad\xff.txt`. The result is escaped already: printing it through ``escaped(_:)`` again
    /// would double the backslash of every escape (`bad\\xff.txt`, which reads as a name with a
    /// backslash in it). A backslash of the name itself still shows as `\\`, so no escape is
    /// mistaken for one.
    public static func escaped(bytes name: [UInt8]) -> String {
        var out = ""
        var parser = Unicode.UTF8.ForwardParser()
        var input = name.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &input) {
            case .valid(let encoded):
                append(Unicode.UTF8.decode(encoded), to: &out)
                offset += encoded.count
            case .error(let length):
                for byte in name[offset..<offset + length] { out += "\\x" + hex(UInt32(byte)) }
                offset += length
            case .emptyInput:
                return out
            }
        }
    }

    /// Appends `scalar` as ``escaped(_:)`` shows it.
    private static func append(_ scalar: Unicode.Scalar, to out: inout String) {
        switch scalar.value {
        case 0x5C: out += "\\\\"
        case 0x09: out += "\\t"
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x00...0x1F, 0x7F: out += "\\x" + hex(scalar.value)
        case _ where isEscapedAsUnicode(scalar): out += unicodeEscape(scalar)
        default: out.unicodeScalars.append(scalar)
        }
    }

    /// A JSON text with DEL, C1 and invisible formatting characters, which JSON allows raw
    /// inside strings, written as `\u007f`…`\u009f` and `\uNNNN` instead: the same JSON value,
    /// and nothing a terminal obeys or reorders when the output is watched rather than parsed.
    /// (C0 characters are escaped by every JSON encoder already.) Outside strings JSON holds
    /// ASCII only, so every such character is inside a string, where the escape means the same.
    public static func json(_ text: String) -> String {
        let escapedInJSON = { (scalar: Unicode.Scalar) in scalar.value == 0x7F || isEscapedAsUnicode(scalar) }
        guard text.unicodeScalars.contains(where: escapedInJSON) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if escapedInJSON(scalar) {
                out += unicodeEscape(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Characters that print as nothing yet change what is shown: the bidirectional marks,
    /// embeddings, overrides and isolates (U+061C, U+200E–U+200F, U+202A–U+202E,
    /// U+2066–U+2069), which reorder the text around them, and the zero-width and separator
    /// characters (U+200B–U+200D, U+2028–U+2029, U+2060–U+2064, U+FEFF), which make two
    /// different names look the same or one name look like two lines.
    static func isInvisibleFormat(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x061C, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2064, 0x2066...0x2069, 0xFEFF: true
        default: false
        }
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F || scalar == "\\" || isEscapedAsUnicode(scalar)
    }

    /// C1 characters and invisible formatting ones: written `\uNNNN` in either form.
    private static func isEscapedAsUnicode(_ scalar: Unicode.Scalar) -> Bool {
        (0x80...0x9F).contains(scalar.value) || isInvisibleFormat(scalar)
    }

    /// `\uNNNN`, as in JSON: four hex digits (every character escaped so is in the BMP).
    private static func unicodeEscape(_ scalar: Unicode.Scalar) -> String {
        let digits = String(scalar.value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}
