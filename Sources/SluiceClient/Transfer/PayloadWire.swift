import Foundation
import SluiceProto
import SluiceRPC

/// The protobuf wire form of the two messages that carry partition bytes, written and read
/// by hand so the bytes go between the file and the RPC frame with no protobuf `Data` copy:
/// an `UploadPartitionRequest` whose `data` (field 2) is read from the file straight into
/// the outgoing frame, and a `ReadPartitionResponse` whose `data` (field 1) is written to the
/// file straight from the buffer it arrived in.
///
/// A field is encoded as protobuf does: its tag (field number << 3 | 2, length-delimited),
/// its length as a varint, its bytes.
enum PayloadWire {
    static let uploadDataField = 2
    static let readDataField = 1

    /// The size of a message holding only `count` bytes in field `field`.
    static func encodedSize(field: Int, count: Int) -> Int {
        LengthDelimitedField.head(field: field, length: count).count + count
    }

    /// Writes the message holding only `count` bytes in field `field` into `buffer` (of
    /// exactly `encodedSize(field:count:)` bytes), the bytes themselves by `fill`, which
    /// must fill the buffer it is given.
    static func encode(
        field: Int, count: Int, into buffer: UnsafeMutableRawBufferPointer,
        fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) rethrows {
        let head = LengthDelimitedField.head(field: field, length: count)
        buffer.copyBytes(from: head)
        try fill(UnsafeMutableRawBufferPointer(rebasing: buffer[head.count..<(head.count + count)]))
    }

    /// The `data` of a ReadPartitionResponse in its encoding `message`: a slice of it when the
    /// message is that one field alone (what a server sends), else what protobuf decodes.
    static func readPartitionData(_ message: ArraySlice<UInt8>) throws -> ArraySlice<UInt8> {
        if let data = onlyField(readDataField, in: message) { return data }
        return try ArraySlice(Sluice_V1_ReadPartitionResponse(serializedBytes: Array(message)).data)
    }

    /// The bytes of length-delimited field `field` when `message` holds exactly that field,
    /// once; nil for any other shape.
    static func onlyField(_ field: Int, in message: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var at = message.startIndex
        guard at < message.endIndex, message[at] == UInt8(field << 3 | 2) else { return nil }
        at += 1
        var length: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard at < message.endIndex, shift < 64 else { return nil }
            let byte = message[at]
            at += 1
            length |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { break }
            shift += 7
        }
        guard length == UInt64(message.endIndex - at) else { return nil }
        return message[at...]
    }
}
