/// `sluice watch` found its cursor file unusable: empty (a crash or a full disk while it was
/// written, a `touch`) or holding something the server refuses as a cursor. Watching from now
/// instead would skip the changes made since without a word, so the watch stops and names the
/// file, whose deletion is the user's choice to start afresh. A not-found failure (exit 3), as
/// a cursor the server no longer keeps (``UnresumableCursorError``).
public struct UnreadableCursorFileError: Error, CustomStringConvertible, Sendable {
    /// The file holding the cursor.
    public var cursorFile: String
    /// What is wrong with it.
    public var reason: String

    public init(cursorFile: String, reason: String) {
        self.cursorFile = cursorFile
        self.reason = reason
    }

    public var description: String {
        "the watch cursor file \(cursorFile) cannot be used: \(reason). Delete it to watch from now (changes made "
            + "since it was last saved are then not shown; list the objects with sluice ls -r to catch up)"
    }
}
