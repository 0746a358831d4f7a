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

    /// A message that is one `bytes` field gives those bytes where they are, across the
    /// varint length boundaries; it is the same value protobuf decodes.
    @Test(arguments: [0, 1, 127, 128, 16_383, 16_384, (1 << 21) + 5])
    func aSoleFieldIsReadWhereItIs(length: Int) throws {
        let bytes = [UInt8]((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let encoding = LengthDelimitedField.head(field: 1, length: length) + bytes
        let field = try #require(LengthDelimitedField.soleField(1, in: encoding[...]))
        #expect(Array(field) == bytes)
        #expect(field.startIndex == encoding.count - length, "a view into the encoding, not a copy")
        #expect(Array(field) == [UInt8](try Google_Protobuf_BytesValue(serializedBytes: encoding).value))
    }

    /// Anything but exactly one such field is left to protobuf.
    @Test func anythingElseIsNotASoleField() {
        let data = LengthDelimitedField.head(field: 2, length: 3) + [7, 8, 9]
        #expect(LengthDelimitedField.soleField(2, in: data[...]) == [7, 8, 9])
        #expect(LengthDelimitedField.soleField(1, in: data[...]) == nil, "another field number")
        #expect(LengthDelimitedField.soleField(2, in: (data + [0x78, 1])[...]) == nil, "an unknown field after it")
        #expect(LengthDelimitedField.soleField(2, in: (data + data)[...]) == nil, "the field twice")
        #expect(LengthDelimitedField.soleField(2, in: data.dropLast()) == nil, "cut short")
        #expect(LengthDelimitedField.soleField(2, in: [0x10, 3, 7, 8, 9][...]) == nil, "a varint, not length-delimited")
        #expect(LengthDelimitedField.soleField(2, in: [][...]) == nil, "empty")
        #expect(LengthDelimitedField.soleField(2, in: [0x12][...]) == nil, "no length")
        #expect(LengthDelimitedField.soleField(2, in: ([0x12] + [UInt8](repeating: 0xff, count: 11))[...]) == nil, "an endless varint")
    }

    /// A slice that starts inside a larger buffer (how the deframer hands messages out).
    @Test func aSliceOfALargerBufferIsReadAtItsOwnIndices() throws {
        let buffer: [UInt8] = [0, 0, 0, 0, 5] + LengthDelimitedField.head(field: 2, length: 3) + [4, 5, 6] + [9, 9]
        let field = try #require(LengthDelimitedField.soleField(2, in: buffer[5..<10]))
        #expect(Array(field) == [4, 5, 6])
        #expect(field.startIndex == 7)
    }
}
