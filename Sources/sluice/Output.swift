import Foundation
import SluiceClient

/// Everything `sluice` prints goes through here, so that nothing that came from the server
/// or from other principals (object names, prefixes, handles, metadata, server messages)
/// reaches a terminal as control characters: lines for people are escaped
/// (`TerminalText.escaped`), JSON lines stay JSON (`TerminalText.json`).
enum Output {
    /// How a line is made safe.
    enum Style {
        /// For people: control characters escaped.
        case text
        /// A JSON text: left JSON, with DEL and C1 characters written as escapes.
        case json
        /// The CLI's own words, which may span lines on purpose (usage and help from the
        /// argument parser): written as they are. Never for anything from the server.
        case verbatim
        /// For people, escaped already by whoever made the line, part by part with
        /// `TerminalText` (`SyncEvent.text`, whose path may be a name that is not UTF-8, shown
        /// as escaped bytes): written as it is, since escaping it again would double every
        /// backslash of those escapes.
        case escaped
    }

    /// A line for people on standard output, buffered as `print` is.
    static func line(_ text: String) {
        print(TerminalText.escaped(text))
    }

    /// A line on standard output: a JSON text with `json`, else one for people.
    static func line(_ text: String, json: Bool) {
        print(json ? TerminalText.json(text) : TerminalText.escaped(text))
    }

    /// Lines written at once, unbuffered: for output that must be out before what follows
    /// (`watch` saves its cursor only after its lines are written) and for standard error.
    static func write(_ lines: [String], _ style: Style = .text, to handle: FileHandle = .standardOutput) {
        guard !lines.isEmpty else { return }
        handle.write(Data(lines.map { safe($0, style) + "\n" }.joined().utf8))
    }

    /// Draws `text` over the terminal's current line (standard error), without ending it, cut
    /// to the terminal's width (after escaping, which lengthens it) so that it stays one line.
    static func redraw(_ text: String) {
        FileHandle.standardError.write(Data((eraseLine + fit(TerminalText.escaped(text))).utf8))
    }

    /// Takes the line `redraw` drew off the terminal.
    static func erase() {
        FileHandle.standardError.write(Data(eraseLine.utf8))
    }

    /// Back to the line's start, and erase it (CR, then ANSI EL 2): the one control sequence
    /// the CLI prints, its own.
    private static let eraseLine = "\r\u{1B}[2K"

    private static func fit(_ line: String) -> String {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 1 else { return line }
        return String(line.prefix(Int(size.ws_col) - 1))
    }

    private static func safe(_ text: String, _ style: Style) -> String {
        switch style {
        case .text: TerminalText.escaped(text)
        case .json: TerminalText.json(text)
        case .verbatim, .escaped: text
        }
    }
}
