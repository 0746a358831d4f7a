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
        emit(lines.map { safe($0, style) + "\n" }.joined(), to: handle.fileDescriptor)
    }

    /// Draws `text` over the terminal's current line (standard error), without ending it, cut
    /// to the terminal's width (after escaping, which lengthens it) so that it stays one line.
    static func redraw(_ text: String) {
        emit(eraseLine + fit(TerminalText.escaped(text)), to: STDERR_FILENO)
    }

    /// Takes the line `redraw` drew off the terminal.
    static func erase() {
        emit(eraseLine, to: STDERR_FILENO)
    }

    /// Writes `text` whole to `descriptor`. A standard output or error that can no longer be
    /// written (its reader is gone: `sluice watch | head -1`) ends the command as a broken
    /// pipe ends other tools, at once, here with exit code 1 (saying so on standard error when
    /// it was standard output that failed): what could not be written is
    /// not dropped while the command goes on (`watch` would save a cursor past lines nobody
    /// got), and a transfer cut short resumes on the next run, as after any kill.
    private static func emit(_ text: String, to descriptor: Int32) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    if descriptor != STDERR_FILENO {
                        let reason = "sluice: cannot write standard output: \(String(cString: strerror(errno)))\n"
                        _ = reason.withCString { Glibc.write(STDERR_FILENO, $0, strlen($0)) }
                    }
                    _exit(1)
                }
            }
        }
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
