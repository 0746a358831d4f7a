import SluiceOpenSSL

/// The address of a blob: the SHA-256 of its bytes, within a scope.
///
/// The scope is a short token chosen by the caller — a principal's id, or a shared name an operator
/// turned on — and deduplication happens only within it, because storing a file once for everyone
/// would let one principal learn whether another already holds it.
///
/// A key is valid by construction (scope `[a-z0-9-]{1,64}`, digest exactly 32 bytes), which is what
/// lets a store build paths or object names from it: nothing else ever goes into one.
public struct BlobKey: Hashable, Sendable, CustomStringConvertible {
    /// The deduplication domain; `[a-z0-9-]`, 1 to 64 characters.
    public let scope: String
    /// The SHA-256 of the blob's bytes, 32 bytes.
    public let sha256: [UInt8]

    /// The number of bytes in a SHA-256 digest.
    public static let digestLength = 32

    public init(scope: String, sha256: [UInt8]) throws {
        guard Self.isValidScope(scope) else { throw BlobError.invalidScope(scope) }
        guard sha256.count == Self.digestLength else {
            throw BlobError.invalidDigest("a SHA-256 digest is \(Self.digestLength) bytes, not \(sha256.count)")
        }
        self.scope = scope
        self.sha256 = sha256
    }

    /// A key from the digest spelled as 64 lowercase hexadecimal digits.
    public init(scope: String, hex: String) throws {
        guard let digest = Hex.decode(hex), digest.count == Self.digestLength else {
            throw BlobError.invalidDigest("a SHA-256 digest is 64 lowercase hexadecimal digits, not \"\(hex)\"")
        }
        try self.init(scope: scope, sha256: digest)
    }

    /// The digest as 64 lowercase hexadecimal digits.
    public var hex: String { Hex.encode(sha256) }

    public var description: String { "\(scope)/\(hex)" }

    /// Whether `scope` is 1 to 64 characters of `[a-z0-9-]`. Such a token can never be `.` or
    /// `..`, nor contain a separator, so it is safe as one path component or key segment.
    public static func isValidScope(_ scope: String) -> Bool {
        let utf8 = scope.utf8
        return (1...64).contains(utf8.count) && utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "-")
        }
    }
}
