import Foundation
import SluiceProto
import SluiceRPC
import SwiftProtobuf
import Testing

@testable import SluiceClient

/// The hand-written wire form of the messages that carry partition bytes agrees with
/// protobuf's, both ways, and anything else falls back to protobuf's decoder.
@Suite struct PayloadWireTests {
    static func encoded(field: Int, _ payload: [UInt8]) -> [UInt8] {
        let size = PayloadWire.encodedSize(field: field, count: payload.count)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            PayloadWire.encode(field: field, count: payload.count, into: UnsafeMutableRawBufferPointer(buffer)) { target in
                payload.withUnsafeBytes { target.copyMemory(from: $0) }
            }
            count = size
        }
    }

    /// Lengths around every varint width a partition's chunk can have.
    @Test(arguments: [0, 1, 127, 128, 16_383, 16_384, 1 << 20, (1 << 21) + 3])
    func uploadDataIsWhatProtobufEncodes(count: Int) throws {
        let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let mine = Self.encoded(field: PayloadWire.uploadDataField, payload)
        var request = Sluice_V1_UploadPartitionRequest()
        request.data = Data(payload)
        let expected: [UInt8] = try request.serializedBytes()
        #expect(mine == expected)
        #expect(try Sluice_V1_UploadPartitionRequest(serializedBytes: mine).data == Data(payload))
    }

    @Test(arguments: [0, 1, 127, 128, 16_384, 1 << 20])
    func readDataIsTakenAsASlice(count: Int) throws {
        let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var response = Sluice_V1_ReadPartitionResponse()
        response.data = Data(payload)
        let message: [UInt8] = try response.serializedBytes()
        #expect(Array(try PayloadWire.readPartitionData(message[...])) == payload)
        if count > 0 { #expect(LengthDelimitedField.soleField(PayloadWire.readDataField, in: message[...]) != nil) }
    }

    /// Shapes the fast path does not take (a field repeated, an unknown field, a cut-off
    /// length) decode as protobuf says, or fail as it does.
    @Test func otherShapesGoThroughProtobuf() throws {
        let twice = Self.encoded(field: 1, [1, 2]) + Self.encoded(field: 1, [3])
        #expect(LengthDelimitedField.soleField(1, in: twice[...]) == nil)
        #expect(Array(try PayloadWire.readPartitionData(twice[...])) == [3])
        let unknown = Self.encoded(field: 1, [9, 9]) + Self.encoded(field: 5, [7])
        #expect(LengthDelimitedField.soleField(1, in: unknown[...]) == nil)
        #expect(Array(try PayloadWire.readPartitionData(unknown[...])) == [9, 9])
        let cut: [UInt8] = [0x0A, 0x05, 1, 2]
        #expect(LengthDelimitedField.soleField(1, in: cut[...]) == nil)
        #expect(throws: (any Error).self) { try PayloadWire.readPartitionData(cut[...]) }
        let offset = ([0xFF] + Self.encoded(field: 1, [4, 5]))[1...]
        #expect(Array(try PayloadWire.readPartitionData(offset)) == [4, 5])
    }
}
