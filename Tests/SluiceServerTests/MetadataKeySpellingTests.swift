import Foundation
import SluiceProto
import SluiceRPC
@testable import SluiceServer
import SwiftProtobuf
import Testing

/// User metadata keys that Swift's String equality would merge are refused from the wire bytes.
@Suite struct MetadataKeySpellingTests {
    /// Python-like encoding of map entries: swift-protobuf would merge them on encode too, so
    /// the entries are encoded one by one and concatenated.
    private func encoded<M: SwiftProtobuf.Message>(
        _ keys: [String], as type: M.Type, setting metadata: WritableKeyPath<M, [String: String]>
    ) throws -> ArraySlice<UInt8> {
        var bytes: [UInt8] = []
        for key in keys {
            var one = M()
            one[keyPath: metadata] = [key: "v"]
            bytes += try one.serializedBytes() as [UInt8]
        }
        return bytes[...]
    }

    private func session(_ keys: [String]) throws -> ArraySlice<UInt8> {
        try encoded(keys, as: Sluice_V1_CreateSessionRequest.self, setting: \.userMetadata)
    }

    private func put(_ keys: [String]) throws -> ArraySlice<UInt8> {
        var bytes = try encoded(keys, as: Sluice_V1_PutObjectRequest.self, setting: \.userMetadata)
        var data = Sluice_V1_PutObjectRequest()
        data.data = Data(repeating: 7, count: 1000)
        bytes += try data.serializedBytes() as [UInt8]
        return bytes
    }

    @Test func keysDifferingOnlyInNormalizationAreRefused() throws {
        let bytes = try session(["e\u{301}", "\u{e9}"])
        #expect(try Sluice_V1_CreateSessionRequest(serializedBytes: Array(bytes)).userMetadata.count == 1)
        #expect(throws: RPCError.self) { try Sluice_V1_CreateSessionRequest.checkWire(bytes) }
    }

    /// PutObject carries the same map (field 5, beside the data) and the same rule.
    @Test func putObjectKeysDifferingOnlyInNormalizationAreRefused() throws {
        let bytes = try put(["\u{c5}", "A\u{30a}", "\u{212b}"])
        #expect(try Sluice_V1_PutObjectRequest(serializedBytes: Array(bytes)).userMetadata.count == 1)
        #expect(throws: RPCError.self) { try Sluice_V1_PutObjectRequest.checkWire(bytes) }
        let refusal = #expect(throws: RPCError.self) { try ServerRequestStream<Sluice_V1_PutObjectRequest>.decode(bytes) }
        #expect(refusal?.code == .invalidArgument)
        try Sluice_V1_PutObjectRequest.checkWire(try put(["a", "b", "\u{c5}"]))
    }

    @Test func distinctAndRepeatedKeysPass() throws {
        try Sluice_V1_CreateSessionRequest.checkWire(try session(["a", "b", "e\u{301}"]))
        // The same bytes twice is protobuf's "last one wins", not a merge of two spellings.
        try Sluice_V1_CreateSessionRequest.checkWire(try session(["a", "a"]))
    }

    @Test func malformedBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var fields = ProtoWireFields(bytes)
            var count = 0
            while fields.next() != nil, count < 1000 { count += 1 }
            _ = try? Sluice_V1_CreateSessionRequest.checkWire(bytes[...])
            _ = try? Sluice_V1_PutObjectRequest.checkWire(bytes[...])
        }
    }
}
