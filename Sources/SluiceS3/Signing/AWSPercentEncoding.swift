/// The percent-encoding AWS Signature Version 4 specifies ("UriEncode"): the UTF-8 bytes of
/// the text, each kept if it is an RFC 3986 unreserved character and `%XX` (upper-case hex)
/// otherwise.
///
/// Foundation's `addingPercentEncoding` is not used: its character sets keep `+`, `=`, `&`
/// and others that S3 requires encoded, and a signature over one spelling does not verify
/// against another.
public enum AWSPercentEncoding {
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    /// `text` encoded; with `keepingSlashes`, `/` stays as it is (how object keys appear in
    /// a path).
    public static func encode(_ text: String, keepingSlashes: Bool = false) -> String {
        var encoded = [UInt8]()
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) || (keepingSlashes && byte == UInt8(ascii: "/")) {
                encoded.append(byte)
            } else {
                encoded.append(UInt8(ascii: "%"))
                encoded.append(hexDigits[Int(byte >> 4)])
                encoded.append(hexDigits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
