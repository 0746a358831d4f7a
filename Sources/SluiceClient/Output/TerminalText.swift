/// Makes text from the server safe to print. Object names, prefixes, handles, metadata and
/// server messages are data that other principals choose (anyone with write access to a
/// shared folder names its objects): printed raw, an ESC sequence in a name could recolour
/// the terminal, move the cursor, retitle the window or worse, and a newline could fake
/// listing lines. Every line `sluice` prints passes through here: human-readable lines
/// through `escaped`, JSON lines through `json`.
public enum TerminalText {
    /// The text with every control character escaped: C0 (U+0000–U+001F) and DEL as `\xNN`
    /// (tab, newline and carriage return as `\t`, `\n`, `\r`), C1 (U+0080–U+009F, which some
    /// terminals obey as 8-bit escapes) as `\u00NN`, and the backslash itself as `\\`, so
    /// that an escaped name never looks like another name (`a\nb` printed is `a\\nb`).
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x5C: out += "\\\\"
            case 0x09: out += "\\t"
            case 0x0A: out += "\\n"
            case 0x0D: out += "\\r"
            case 0x00...0x1F, 0x7F: out += "\\x" + hex(scalar.value)
            case 0x80...0x9F: out += "\\u00" + hex(scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A JSON text with DEL and C1 characters, which JSON allows raw inside strings, written
    /// as `\u007f`…`\u009f` instead: the same JSON value, and nothing a terminal obeys when
    /// the output is watched rather than parsed. (C0 characters are escaped by every JSON
    /// encoder already.) Outside strings JSON holds ASCII only, so every such character is
    /// inside a string, where the escape means the same.
    public static func json(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { (0x7F...0x9F).contains($0.value) }) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 16)
        for scalar in text.unicodeScalars {
            if (0x7F...0x9F).contains(scalar.value) {
                out += "\\u00" + hex(scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\\"
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return digits.count == 1 ? "0" + digits : digits
    }
}
