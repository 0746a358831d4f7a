/// A relative path as sync keys, compares and orders it: by its UTF-8 bytes. Swift's `String`
/// equality and hashing follow Unicode canonical equivalence, so `caf\u{e9}` and `cafe\u{301}`
/// would be one key, while the file system and the server keep them as two names: keyed by
/// `String`, one of the two files would never be synced and the other would take its
/// history. Every map and set of paths in the sync engine and its state is keyed by this.
///
/// Encoded as its string; a dictionary keyed by it is encoded as an array of alternating keys
/// and values (not a JSON object, whose encoder and decoder would merge such keys again).
public struct PathKey: Hashable, Comparable, Sendable, Codable, ExpressibleByStringInterpolation,
    CustomStringConvertible
{
    public let string: String

    public init(_ string: String) {
        self.string = string
    }

    public init(stringLiteral value: String) {
        self.init(value)
    }

    public init(from decoder: any Decoder) throws {
        string = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(string)
    }

    public static func == (lhs: PathKey, rhs: PathKey) -> Bool {
        lhs.string.utf8.elementsEqual(rhs.string.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        var string = string
        string.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }

    public static func < (lhs: PathKey, rhs: PathKey) -> Bool {
        lhs.string.utf8.lexicographicallyPrecedes(rhs.string.utf8)
    }

    public var description: String { string }
}
