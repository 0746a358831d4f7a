import Foundation
import SluiceProto
import SluiceRPC
@testable import SluiceServer
import SwiftProtobuf
import Testing

/// User metadata keys that Swift's String equality would merge are refused from the wire bytes.
@Suite struct MetadataKeySpellingTests {
    private func request(_ keys: [String]) throws -> [UInt8] {
        // Python-like encoding of two map entries: swift-protobuf would merge them on encode too,
        // so the entries are encoded one by one and concatenated.
        var bytes: [UInt8] = []
        for key in keys {
            var one = Sluice_V1_CreateSessionRequest()
            one.userMetadata = [key: "v"]
            bytes += try one.serializedBytes() as [UInt8]
        }
        return bytes
    }

    @Test func keysDifferingOnlyInNormalizationAreRefused() throws {
        let bytes = try request(["e\u{301}", "\u{e9}"])
        #expect(try Sluice_V1_CreateSessionRequest(serializedBytes: bytes).userMetadata.count == 1)
        #expect(throws: RPCError.self) { try Sluice_V1_CreateSessionRequest.checkWire(bytes) }
    }

    @Test func distinctAndRepeatedKeysPass() throws {
        try Sluice_V1_CreateSessionRequest.checkWire(try request(["a", "b", "e\u{301}"]))
        // The same bytes twice is protobuf's "last one wins", not a merge of two spellings.
        try Sluice_V1_CreateSessionRequest.checkWire(try request(["a", "a"]))
    }

    @Test func malformedBytesNeverTrap() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var fields = ProtoWireFields(bytes)
            var count = 0
            while fields.next() != nil, count < 1000 { count += 1 }
            _ = try? Sluice_V1_CreateSessionRequest.checkWire(bytes)
        }
    }
}
