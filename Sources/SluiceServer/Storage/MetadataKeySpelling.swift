import SluiceProto
import SluiceRPC

/// Refuses user metadata whose keys differ only in Unicode normalization (`e\u{301}` and
/// `\u{e9}`). Swift's String equality is canonical equivalence, so decoding the map into a
/// Dictionary would silently keep one of them; the wire bytes still have both. Every request
/// that carries user metadata is checked here.
enum MetadataKeySpelling {
    /// Throws INVALID_ARGUMENT when two entries of the map field `mapField` in `bytes` have keys
    /// that are different bytes but equal Strings.
    static func check(_ bytes: ArraySlice<UInt8>, mapField: UInt64) throws(RPCError) {
        var entries = ProtoWireFields(bytes)
        var spellings: [String: [ArraySlice<UInt8>]] = [:]
        while let field = entries.next() {
            guard field.number == mapField, let entry = field.payload else { continue }
            var keyBytes: ArraySlice<UInt8> = []
            var inner = ProtoWireFields(entry)
            while let part = inner.next() {
                if part.number == 1 { keyBytes = part.payload ?? [] }
            }
            let key = String(decoding: keyBytes, as: UTF8.self)
            if !(spellings[key]?.contains(where: { $0.elementsEqual(keyBytes) }) ?? false) {
                spellings[key, default: []].append(keyBytes)
            }
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

extension Sluice_V1_CreateSessionRequest: WireCheckedMessage {
    public static func checkWire(_ bytes: ArraySlice<UInt8>) throws(RPCError) {
        try MetadataKeySpelling.check(bytes, mapField: 7)
    }
}

extension Sluice_V1_PutObjectRequest: WireCheckedMessage {
    public static func checkWire(_ bytes: ArraySlice<UInt8>) throws(RPCError) {
        try MetadataKeySpelling.check(bytes, mapField: 5)
    }
}
