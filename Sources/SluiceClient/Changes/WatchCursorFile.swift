import Foundation

/// Where `sluice watch` keeps the last cursor it received, so that a restarted watch
/// resumes exactly after it. One file per server, owner and prefix, under
/// `$SLUICE_STATE_DIR/watch` (else `$XDG_STATE_HOME/sluice/watch`, else
/// `~/.local/state/sluice/watch`), unless a file is named explicitly.
public struct WatchCursorFile: Sendable {
    public let path: String

    /// A relative `path` is taken from the working directory now (a bare file name has no
    /// directory of its own to make or to sync).
    public init(path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The default file for watching `prefix` of `owner` on `server`.
    public static func standard(
        server: String, owner: String, prefix: String,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> WatchCursorFile {
        let journal = UploadJournal.defaultDirectory(environment: environment) as NSString
        let state = journal.deletingLastPathComponent as NSString
        let key = "\(server)\u{0}\(owner)\u{0}\(prefix)"
        let name = String(fnv1a(Array(key.utf8)), radix: 16) + ".cursor"
        return WatchCursorFile(path: (state.appendingPathComponent("watch") as NSString).appendingPathComponent(name))
    }

    /// The saved cursor, or "" when there is no file; a file holding none is
    /// ``UnreadableCursorFileError`` (starting from now would skip changes without a word).
    public func load() throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        let cursor = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !cursor.isEmpty else { throw UnreadableCursorFileError(cursorFile: path, reason: "it is empty") }
        return cursor
    }

    /// Saves `cursor` atomically (a crash leaves the old cursor or the new one).
    public func save(_ cursor: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try AtomicWrite.write(Data((cursor + "\n").utf8), to: path)
    }

    private static func fnv1a(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
