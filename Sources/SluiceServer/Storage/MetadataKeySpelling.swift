import SluiceProto
import SluiceRPC

/// Refuses user metadata whose keys differ only in Unicode normalization (`e\u{301}` and
/// `\u{e9}`). Swift's String equality is canonical equivalence, so decoding the map into a
/// Dictionary would silently keep one of them; the wire bytes still have both.
extension Sluice_V1_CreateSessionRequest: WireCheckedMessage {
    public static func checkWire(_ bytes: [UInt8]) throws(RPCError) {
        var entries = ProtoWireFields(bytes)
        var spellings: [String: [[UInt8]]] = [:]
        while let field = entries.next() {
            guard field.number == 7, let entry = field.payload else { continue }
            var keyBytes: [UInt8] = []
            var inner = ProtoWireFields(Array(entry))
            while let part = inner.next() {
                if part.number == 1 { keyBytes = Array(part.payload ?? []) }
            }
            let key = String(decoding: keyBytes, as: UTF8.self)
            if !(spellings[key]?.contains(keyBytes) ?? false) { spellings[key, default: []].append(keyBytes) }
        }
        guard let clash = spellings.values.first(where: { $0.count > 1 }) else { return }
        let shown = clash.prefix(2).map { "\"\(escaped(String(decoding: $0, as: UTF8.self)))\"" }
        throw RPCError(
            .invalidArgument,
            "user_metadata keys \(shown.joined(separator: " and ")) differ only in Unicode normalization; "
                + "they would be merged. Send one spelling of each key")
    }

    /// Non-ASCII and control characters as \u{…}, so the difference shows.
    private static func escaped(_ key: String) -> String {
        key.prefix(64).unicodeScalars.map { scalar in
            (0x20..<0x7F).contains(scalar.value) ? String(scalar) : "\\u{\(String(scalar.value, radix: 16))}"
        }.joined()
    }
}

/// Walks the top-level fields of protobuf wire bytes, giving each field's number and,
/// for a length-delimited one, its bytes. Stops (returns nil) at the end or at anything
/// malformed; it never traps on hostile input.
struct ProtoWireFields {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func next() -> (number: UInt64, payload: ArraySlice<UInt8>?)? {
        guard index < bytes.count, let tag = varint() else { return nil }
        let number = tag >> 3
        switch tag & 7 {
        case 0:
            guard varint() != nil else { return nil }
            return (number, nil)
        case 1:
            return skip(8) ? (number, nil) : nil
        case 2:
            guard let length = varint(), length <= UInt64(bytes.count - index) else { return nil }
            let start = index
            index += Int(length)
            return (number, bytes[start..<index])
        case 3, 4:
            return (number, nil)
        case 5:
            return skip(4) ? (number, nil) : nil
        default:
            return nil
        }
    }

    private mutating func skip(_ count: Int) -> Bool {
        guard bytes.count - index >= count else { return false }
        index += count
        return true
    }

    private mutating func varint() -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count, shift < 70 {
            let byte = bytes[index]
            index += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }
}
