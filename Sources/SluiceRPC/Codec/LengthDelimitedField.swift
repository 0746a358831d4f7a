/// The head of a length-delimited protobuf field (`bytes`, `string`, a message): its tag
/// (field number << 3 | 2) and its length as a varint. With it, a message whose bulk is one
/// `bytes` field is written as head + the bytes as they are, never copied into an encoding,
/// and read where it arrived, never copied into a `Data`.
public enum LengthDelimitedField {
    /// The tag and length of field `field` holding `length` bytes.
    public static func head(field: Int, length: Int) -> [UInt8] {
        precondition(field > 0 && length >= 0, "a field number is positive and a length is not negative")
        var head: [UInt8] = []
        head.reserveCapacity(11)
        appendVarint(UInt64(field) << 3 | 2, to: &head)
        appendVarint(UInt64(length), to: &head)
        return head
    }

    /// The bytes of field `field` when `encoding` is that one length-delimited field and
    /// nothing else (how a message whose bulk is one `bytes` field is sent); nil otherwise,
    /// and the caller decodes the message in full, with protobuf's own rules.
    public static func soleField(_ field: Int, in encoding: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var fields = ProtoWireFields(encoding)
        guard let first = fields.next(), first.number == UInt64(field), let payload = first.payload, fields.isAtEnd
        else { return nil }
        return payload
    }

    private static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }
}
