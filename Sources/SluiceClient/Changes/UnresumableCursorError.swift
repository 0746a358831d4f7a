/// `sluice watch` was refused its saved cursor (OUT_OF_RANGE): the server no longer keeps
/// the changes after it (they are older than its `--change-retention`), or the cursor comes
/// from another server's log. The watch stops rather than start from now by itself, which
/// would skip those changes without a word (it promises at least once, never lost); the
/// message names the cursor file, whose deletion is the user's choice to start afresh. A
/// not-found failure: the changes after the cursor are gone.
public struct UnresumableCursorError: Error, CustomStringConvertible, Sendable {
    /// The file holding the cursor.
    public var cursorFile: String
    public var cursor: String
    /// What was watched, for the listing that catches up.
    public var prefix: String

    public init(cursorFile: String, cursor: String, prefix: String) {
        self.cursorFile = cursorFile
        self.cursor = cursor
        self.prefix = prefix
    }

    public var description: String {
        let listing = prefix.isEmpty ? "sluice ls -r" : "sluice ls -r \(prefix)"
        return "the server cannot resume from the cursor \(cursor) saved in \(cursorFile): it no longer keeps "
            + "the changes after it (they are older than its --change-retention), or the cursor is from another "
            + "server; changes made since may not be shown. Delete \(cursorFile) to watch from now, and list the "
            + "objects (\(listing)) to catch up"
    }
}
