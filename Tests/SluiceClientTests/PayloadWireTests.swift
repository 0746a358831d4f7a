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

    /// The `data` of a message fed to ``ReadPartitionPieces`` in pieces of `pieceSize` bytes.
    static func dataInPieces(_ message: [UInt8], pieceSize: Int) throws -> [UInt8] {
        var reader = ReadPartitionPieces()
        var data: [UInt8] = []
        var offset = 0
        repeat {
            let end = min(message.count, offset + pieceSize)
            let piece = MessagePiece(messageLength: message.count, offset: offset, bytes: message[offset..<end])
            data += try reader.data(in: piece)
            offset = end
        } while offset < message.count
        return data
    }

    @Test(arguments: [0, 1, 127, 128, 16_384, 1 << 20])
    func readDataIsTakenFromItsPieces(count: Int) throws {
        let payload = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        var response = Sluice_V1_ReadPartitionResponse()
        response.data = Data(payload)
        let message: [UInt8] = try response.serializedBytes()
        if count > 0 { #expect(ReadPartitionPieces.soleFieldHead(messageLength: message.count) == Array(message.prefix(message.count - count))) }
        for pieceSize in [1, 2, 3, 16_375, 1 << 21] {
            #expect(try Self.dataInPieces(message, pieceSize: pieceSize) == payload, "pieces of \(pieceSize) bytes")
        }
    }

    /// Messages one after another through one reader, each read whole.
    @Test func successiveMessagesAreReadApart() throws {
        var reader = ReadPartitionPieces()
        var data: [UInt8] = []
        for payload: [UInt8] in [[1, 2, 3], [], [4], Array(repeating: 5, count: 300)] {
            let message = Self.encoded(field: PayloadWire.readDataField, payload)
            let half = message.count / 2
            data += try reader.data(in: MessagePiece(messageLength: message.count, offset: 0, bytes: message[..<half]))
            data += try reader.data(in: MessagePiece(messageLength: message.count, offset: half, bytes: message[half...]))
        }
        #expect(data == [1, 2, 3, 4] + Array(repeating: 5, count: 300))
    }

    /// Shapes the fast path does not take (a field repeated, an unknown field, a length that
    /// is not the message's, a padded varint) decode as protobuf says, or fail as it does.
    @Test(arguments: [1, 2, 1000])
    func otherShapesGoThroughProtobuf(pieceSize: Int) throws {
        let twice = Self.encoded(field: 1, [1, 2]) + Self.encoded(field: 1, [3])
        #expect(try Self.dataInPieces(twice, pieceSize: pieceSize) == [3])
        let unknown = Self.encoded(field: 1, [9, 9]) + Self.encoded(field: 5, [7])
        #expect(try Self.dataInPieces(unknown, pieceSize: pieceSize) == [9, 9])
        let unknownFirst = Self.encoded(field: 5, [7]) + Self.encoded(field: 1, [9, 9])
        #expect(try Self.dataInPieces(unknownFirst, pieceSize: pieceSize) == [9, 9])
        let padded: [UInt8] = [0x0A, 0x82, 0x00, 6, 7]
        #expect(try Self.dataInPieces(padded, pieceSize: pieceSize) == [6, 7])
        let cut: [UInt8] = [0x0A, 0x05, 1, 2]
        #expect(throws: (any Error).self) { try Self.dataInPieces(cut, pieceSize: pieceSize) }
    }
}
