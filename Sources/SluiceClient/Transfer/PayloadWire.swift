import Foundation
import SluiceProto
import SluiceRPC

/// The protobuf wire form of the two messages that carry partition bytes, written and read
/// by hand so the bytes go between the file and the RPC frame with no protobuf `Data` copy:
/// an `UploadPartitionRequest` whose `data` (field 2) is read from the file straight into
/// the outgoing frame, and a `ReadPartitionResponse` whose `data` (field 1) is written to the
/// file straight from the buffer it arrived in (``ReadPartitionPieces``).
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
}
