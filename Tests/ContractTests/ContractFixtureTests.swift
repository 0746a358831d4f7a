// Contract fixtures, Swift side: the generated SluiceProto types must read and write the
// canonical encodings in Tests/Fixtures exactly as the Python protobuf runtime wrote them
// (scripts/make-fixtures.py). Tests/Interop/test_contract_fixtures.py is the Python side.
//
// For every entry of Tests/Fixtures/manifest.json:
//   binary  decoded with the message type (unknown fields discarded, so only fields the
//           type knows survive), re-encoded with the default encoder and compared byte for
//           byte when the entry is byte_exact: no map in it holds more than one entry, so
//           the message has exactly one valid encoding. The other entries have multi-entry
//           maps, whose wire order protobuf leaves unspecified (Swift encodes a Dictionary
//           in hash order, varying from run to run); their re-encoding is decoded again
//           and compared as a message.
//   JSON    decoded and compared with the binary-decoded message; the message's own JSON
//           encoding is compared with the file as parsed JSON values (key order and
//           whitespace are not part of the contract).
import Foundation
import SluiceProto
import SwiftProtobuf
import Testing

/// The message types fixtures may name, keyed by fully qualified protobuf name. Explicit:
/// a new fixture type needs a line here (testManifestTypesAreKnown says so).
let contractMessageTypes: [String: any SwiftProtobuf.Message.Type] = {
    let types: [any SwiftProtobuf.Message.Type] = [
        Sluice_V1_CreateSessionRequest.self,
        Sluice_V1_UploadSession.self,
        Sluice_V1_UploadPartitionRequest.self,
        Sluice_V1_UploadPartitionResponse.self,
        Sluice_V1_CommitSessionResponse.self,
        Sluice_V1_ListSessionsResponse.self,
        Sluice_V1_GetObjectRequest.self,
        Sluice_V1_ObjectInfo.self,
        Sluice_V1_ListObjectsRequest.self,
        Sluice_V1_ListObjectsResponse.self,
        Sluice_V1_ReadObjectRequest.self,
        Sluice_V1_ReadObjectResponse.self,
        Sluice_V1_ListObjectVersionsResponse.self,
        Sluice_V1_RestoreObjectVersionRequest.self,
        Sluice_V1_PutObjectRequest.self,
        Sluice_V1_GetPartitionInfoRequest.self,
        Sluice_V1_PartitionInfo.self,
        Sluice_V1_ReadPartitionRequest.self,
        Sluice_V1_DeleteObjectRequest.self,
        Sluice_V1_ListObjectVersionsRequest.self,
        Sluice_V1_PrincipalInfo.self,
        Sluice_V1_Grant.self,
        Sluice_V1_GrantAccessRequest.self,
        Sluice_V1_RevokeAccessRequest.self,
        Sluice_V1_RevokeAccessResponse.self,
        Sluice_V1_ListGrantsRequest.self,
        Sluice_V1_ListSharedWithMeRequest.self,
        Sluice_V1_ListGrantsResponse.self,
        Sluice_V1_WatchChangesRequest.self,
        Sluice_V1_WatchChangesResponse.self,
        Sluice_V1_Change.self,
        Sluice_V1_ListChangesRequest.self,
        Sluice_V1_ListChangesResponse.self,
        Sluice_V1_GetUsageRequest.self,
        Sluice_V1_Usage.self,
        Sluice_V1_SetLimitsRequest.self,
        Sluice_V1_PrincipalRecord.self,
        Grpc_Health_V1_HealthCheckResponse.self,
    ]
    return Dictionary(uniqueKeysWithValues: types.map { ($0.protoMessageName, $0) })
}()

/// One entry of manifest.json.
struct ContractFixture: Decodable, Sendable, CustomTestStringConvertible {
    let name: String
    let type: String
    let binary: String
    let json: String
    let byteExact: Bool

    enum CodingKeys: String, CodingKey {
        case name, type, binary, json
        case byteExact = "byte_exact"
    }

    var testDescription: String { name }

    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // ContractTests
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures")

    static func loadManifest() throws -> [ContractFixture] {
        struct Manifest: Decodable { let fixtures: [ContractFixture] }
        let data = try Data(contentsOf: directory.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(Manifest.self, from: data).fixtures
    }

    /// The manifest, or nothing when it cannot be read (testManifestLoads then fails).
    static let all: [ContractFixture] = (try? loadManifest()) ?? []

    func contents(_ relativePath: String) throws -> Data {
        try Data(contentsOf: Self.directory.appendingPathComponent(relativePath))
    }
}

/// A parsed JSON value, compared structurally (object key order does not matter).
indirect enum JSONValue: Decodable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: any Swift.Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !array.isAtEnd { items.append(try array.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: JSONValue] = [:]
            for key in object.allKeys { members[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
            self = .object(members)
            return
        }
        let value = try decoder.singleValueContainer()
        if value.decodeNil() {
            self = .null
        } else if let string = try? value.decode(String.self) {
            self = .string(string)
        } else if let bool = try? value.decode(Bool.self) {
            self = .bool(bool)
        } else {
            self = .number(try value.decode(Double.self))
        }
    }

    static func parse(_ data: Data) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: data)
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

@Suite struct ContractFixtureTests {
    @Test func manifestLoads() throws {
        let fixtures = try ContractFixture.loadManifest()
        #expect(fixtures.count >= contractMessageTypes.count)
        #expect(Set(fixtures.map(\.name)).count == fixtures.count, "fixture names are unique")
    }

    @Test func manifestTypesAreKnown() throws {
        let named = Set(try ContractFixture.loadManifest().map(\.type))
        let unknown = named.subtracting(contractMessageTypes.keys)
        #expect(unknown.isEmpty, "add these to contractMessageTypes: \(unknown.sorted())")
        let unused = Set(contractMessageTypes.keys).subtracting(named)
        #expect(unused.isEmpty, "types without a fixture: \(unused.sorted())")
    }

    @Test(arguments: ContractFixture.all)
    func binaryRoundTrip(_ fixture: ContractFixture) throws {
        let type = try #require(contractMessageTypes[fixture.type], "unknown type \(fixture.type)")
        try checkBinary(type, fixture)
    }

    @Test(arguments: ContractFixture.all)
    func jsonRoundTrip(_ fixture: ContractFixture) throws {
        let type = try #require(contractMessageTypes[fixture.type], "unknown type \(fixture.type)")
        try checkJSON(type, fixture)
    }

    /// Decodes, keeping only known fields, and re-encodes.
    private func checkBinary<M: SwiftProtobuf.Message>(_: M.Type, _ fixture: ContractFixture) throws {
        let bytes = [UInt8](try fixture.contents(fixture.binary))
        var options = BinaryDecodingOptions()
        options.discardUnknownFields = true
        let message = try M(serializedBytes: bytes, options: options)
        let encoded: [UInt8] = try message.serializedBytes()
        if fixture.byteExact {
            #expect(encoded == bytes, "\(fixture.name): re-encoding differs from the fixture")
        } else {
            // Multi-entry maps: entry order is free, so compare what the bytes mean.
            #expect(encoded.count == bytes.count, "\(fixture.name): re-encoded size differs")
            let again = try M(serializedBytes: encoded)
            #expect(again.isEqualTo(message: message), "\(fixture.name): re-encoding decodes differently")
            // Nothing was discarded: the file decodes to the same message with unknown fields kept.
            #expect(try M(serializedBytes: bytes).isEqualTo(message: message),
                    "\(fixture.name): the fixture has fields the type does not know")
        }
    }

    private func checkJSON<M: SwiftProtobuf.Message>(_: M.Type, _ fixture: ContractFixture) throws {
        let binary = try M(serializedBytes: [UInt8](try fixture.contents(fixture.binary)))
        let jsonData = try fixture.contents(fixture.json)
        let fromJSON = try M(jsonUTF8Data: jsonData)  // unknown JSON fields are an error
        #expect(fromJSON.isEqualTo(message: binary), "\(fixture.name): JSON and binary fixtures differ")
        let encoded = try binary.jsonUTF8Data()
        let expected = try JSONValue.parse(jsonData)
        let actual = try JSONValue.parse(encoded)
        #expect(actual == expected,
                "\(fixture.name): JSON re-encoding differs: \(String(decoding: encoded, as: UTF8.self))")
    }
}
