/// A position in the change log as clients see it: `c1.` and the position in decimal.
/// Not secret (a position reveals only how many changes the server has recorded), but
/// strictly parsed: anything else is INVALID_ARGUMENT.
public struct ChangeCursor: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The position of the last change the cursor has passed (0: before the first).
    public let position: Int64

    public init(position: Int64) {
        self.position = position
    }

    private static let prefix = "c1."

    /// The text form handed to clients.
    public var description: String { Self.prefix + String(position) }

    /// Parses a cursor a client sent back; `field` names it in the error.
    public init(parsing text: String, field: String = "cursor") throws(StorageError) {
        let digits = text.hasPrefix(Self.prefix) ? text.dropFirst(Self.prefix.count) : ""
        guard !digits.isEmpty, digits.count <= 19, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            digits == "0" || !digits.hasPrefix("0"), let position = Int64(digits)
        else {
            throw .invalidArgument(
                "\(field) is not a change cursor this server issued; pass a cursor from a Change, a "
                    + "WatchChangesResponse, a ListChangesResponse or ListObjectsResponse.change_cursor")
        }
        self.position = position
    }

    public static func < (lhs: ChangeCursor, rhs: ChangeCursor) -> Bool { lhs.position < rhs.position }
}
