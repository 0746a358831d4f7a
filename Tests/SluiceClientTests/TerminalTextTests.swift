import Foundation
import Testing

@testable import SluiceClient

/// Control characters from the server never reach a terminal raw, and escaped names stay
/// distinct.
@Suite struct TerminalTextTests {
    @Test(arguments: [
        ("plain/name.txt", "plain/name.txt"),
        ("red\u{1B}[31m", "red\\x1b[31m"),
        ("new\nline\ttab\rcr", "new\\nline\\ttab\\rcr"),
        ("nul\u{0}bel\u{7}del\u{7F}", "nul\\x00bel\\x07del\\x7f"),
        ("csi\u{9B}1m nel\u{85}", "csi\\u009b1m nel\\u0085"),
        ("back\\slash", "back\\\\slash"),
        ("invoice\u{202E}fdp.exe", "invoice\\u202efdp.exe"),
        ("a\u{200B}b\u{2028}c\u{2067}d\u{FEFF}e\u{61C}", "a\\u200bb\\u2028c\\u2067d\\ufeffe\\u061c"),
        ("caf\u{E9} \u{2713} \u{A0}nbsp", "caf\u{E9} \u{2713} \u{A0}nbsp"),
    ])
    func escapes(text: String, shown: String) {
        #expect(TerminalText.escaped(text) == shown)
    }

    @Test func escapedNamesStayDistinct() {
        #expect(TerminalText.escaped("a\nb") != TerminalText.escaped("a\\nb"))
    }

    /// A name that is not UTF-8: each stray byte escaped once, its characters as text is shown
    /// (a backslash doubled, a control character escaped), so a byte's escape and a backslash
    /// of the name never look alike.
    @Test func namesThatAreNotUTF8ShowEachStrayByteEscapedOnce() {
        #expect(TerminalText.escaped(bytes: Array("bad".utf8) + [0xFF, 0xFE] + Array(".txt".utf8)) == "bad\\xff\\xfe.txt")
        #expect(TerminalText.escaped(bytes: Array("caf\u{E9}/".utf8) + [0xE9]) == "caf\u{E9}/\\xe9")
        #expect(TerminalText.escaped(bytes: Array("a\\".utf8) + [0xFF] + [0x1B]) == "a\\\\\\xff\\x1b")
        #expect(TerminalText.escaped(bytes: Array("bad\\xff".utf8)) != TerminalText.escaped(bytes: Array("bad".utf8) + [0xFF]))
    }

    @Test func jsonKeepsItsValue() throws {
        let name = "csi\u{9B}1m del\u{7F} esc\u{1B} rlo\u{202E}exe.txt"
        let encoded = String(decoding: try JSONSerialization.data(withJSONObject: ["name": name]), as: UTF8.self)
        let safe = TerminalText.json(encoded)
        #expect(!safe.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x202E })
        let decoded = try JSONSerialization.jsonObject(with: Data(safe.utf8)) as? [String: String]
        #expect(decoded?["name"] == name)
    }
}
