import SluiceRPC
import SwiftProtobuf
import Testing

@Suite struct LengthDelimitedFieldTests {
    /// Head + bytes is exactly what SwiftProtobuf encodes for a message of that one field
    /// (BytesValue: `bytes value = 1`), across the varint length boundaries.
    @Test(arguments: [0, 1, 127, 128, 16_383, 16_384, 1 << 20, (1 << 21) + 5])
    func headAndBytesMatchProtobufsEncoding(length: Int) throws {
        let bytes = [UInt8]((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        var message = Google_Protobuf_BytesValue()
        message.value = .init(bytes)
        let expected: [UInt8] = length == 0 ? [10, 0] : try message.serializedBytes()
        #expect(LengthDelimitedField.head(field: 1, length: length) + bytes == expected)
        let decoded = try Google_Protobuf_BytesValue(serializedBytes: LengthDelimitedField.head(field: 1, length: length) + bytes)
        #expect([UInt8](decoded.value) == bytes)
    }

    @Test func largeFieldNumbersTakeAVarintTag() {
        #expect(LengthDelimitedField.head(field: 16, length: 3) == [0x82, 0x01, 3])
    }
}
