@testable import SluiceRPC
import Testing

@Suite struct MetadataTests {
    @Test func keysAreLowerCasedAndOrderIsKept() {
        var metadata = Metadata()
        metadata.add("X-Trace", "1")
        metadata.add("x-trace", "2")
        metadata.add("x-other", "3")
        #expect(metadata.count == 3)
        #expect(metadata.values(for: "X-TRACE") == [.string("1"), .string("2")])
        #expect(metadata.firstString("x-trace") == "1")
        #expect(metadata.map(\.key) == ["x-trace", "x-trace", "x-other"])
        #expect(metadata.firstBytes("x-trace") == nil)
    }

    @Test func dictionaryLiteralAndFilter() {
        let metadata: Metadata = ["a": .string("1"), "b-bin": .binary([1, 2]), "ab": .string("3")]
        #expect(metadata.filter { $0.hasPrefix("a") }.map(\.key) == ["a", "ab"])
        #expect(metadata.firstBytes("b-bin") == [1, 2])
    }

    @Test func stringValuesBecomeHeaderFieldsAsTheyAre() {
        var metadata = Metadata()
        metadata.add("x-user", "alice, bob")
        #expect(metadata.headerFields == [HeaderField("x-user", "alice, bob")])
        #expect(Metadata(headerFields: metadata.headerFields) == metadata)
    }

    @Test func binaryValuesTravelAsUnpaddedBase64() {
        var metadata = Metadata()
        metadata.add("x-blob-bin", bytes: Array("foobar".utf8))
        metadata.add("x-blob-bin", bytes: Array("fooba".utf8))
        metadata.add("x-blob-bin", bytes: Array("foob".utf8))
        metadata.add("x-blob-bin", bytes: Array("f".utf8))
        #expect(metadata.headerFields.map(\.value) == ["Zm9vYmFy", "Zm9vYmE", "Zm9vYg", "Zg"])
    }

    @Test func binaryValuesRoundTripForEveryLengthAndByte() {
        var generator = SplitMix64(seed: 7)
        var metadata = Metadata()
        metadata.add("x-all-bin", bytes: (0...255).map { UInt8($0) })
        for length in 1...70 {
            metadata.add("x-\(length)-bin", bytes: (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }
        let fields = metadata.headerFields
        #expect(fields.allSatisfy { field in field.value.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "=") } })
        #expect(Metadata(headerFields: fields) == metadata)
    }

    @Test func emptyBinaryValueRoundTrips() {
        var metadata = Metadata()
        metadata.add("x-empty-bin", bytes: [])
        #expect(metadata.headerFields == [HeaderField("x-empty-bin", "")])
        #expect(Metadata(headerFields: metadata.headerFields) == metadata)
    }

    @Test func decodesPaddedAndCommaJoinedBinaryValues() {
        let metadata = Metadata(headerFields: [
            HeaderField("x-a-bin", "Zm9vYg=="),
            HeaderField("x-b-bin", "Zm9vYmE="),
            HeaderField("x-c-bin", "Zg, Zm9v ,Zm9vYmFy"),
        ])
        #expect(metadata.firstBytes("x-a-bin") == Array("foob".utf8))
        #expect(metadata.firstBytes("x-b-bin") == Array("fooba".utf8))
        #expect(metadata.values(for: "x-c-bin") == [.binary(Array("f".utf8)), .binary(Array("foo".utf8)), .binary(Array("foobar".utf8))])
    }

    @Test func invalidBase64IsDropped() {
        let metadata = Metadata(headerFields: [
            HeaderField("x-bad-bin", "Z"),  // one symbol is never valid
            HeaderField("x-bad-bin", "Zm9v!"),
            HeaderField("x-bad-bin", "Zm9v\u{00E9}"),
            HeaderField("x-good-bin", "AQID"),
        ])
        #expect(metadata.values(for: "x-bad-bin").isEmpty)
        #expect(metadata.firstBytes("x-good-bin") == [1, 2, 3])
    }

    @Test func base64CodecDirectly() {
        #expect(Base64.encode([]) == "")
        #expect(Base64.encode([0xFF, 0xFE, 0xFD]) == "//79")
        #expect(Base64.decode("//79") == [0xFF, 0xFE, 0xFD])
        #expect(Base64.decode("") == [])
        #expect(Base64.decode("====") == [])
        #expect(Base64.decode("A") == nil)
        #expect(Base64.decode("AB-_") == nil)  // base64url symbols are not base64
        var generator = SplitMix64(seed: 64)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let text = Base64.encode(bytes)
            #expect(Base64.decode(text) == bytes)
            let padded = text + String(repeating: "=", count: (4 - text.utf8.count % 4) % 4)
            #expect(Base64.decode(padded) == bytes)
        }
    }

    @Test(arguments: [
        ":path", ":authority", "grpc-timeout", "grpc-status", "grpc-message", "grpc-encoding",
        "grpc-accept-encoding", "content-type", "te", "user-agent", "content-length", "connection",
    ])
    func reservedKeysAreDroppedBothWays(_ key: String) {
        var metadata = Metadata()
        metadata.add(key, "reserved")
        metadata.add("x-kept", "yes")
        #expect(metadata.headerFields == [HeaderField("x-kept", "yes")])
        let decoded = Metadata(headerFields: [HeaderField(key, "reserved"), HeaderField("x-kept", "yes")])
        #expect(decoded.map(\.key) == ["x-kept"])
    }

    /// A rate limiter sends it and a retry policy reads it (gRPC's retry pushback convention).
    @Test func theRetryPushbackTrailerPassesBothWays() {
        var metadata = Metadata()
        metadata.add("grpc-retry-pushback-ms", "250")
        #expect(metadata.headerFields == [HeaderField("grpc-retry-pushback-ms", "250")])
        let decoded = Metadata(headerFields: [HeaderField("grpc-retry-pushback-ms", "-1")])
        #expect(decoded.firstString(Metadata.retryPushbackKey) == "-1")
    }
}

@Suite struct MethodDescriptorTests {
    @Test func pathOfAMethod() {
        let method = MethodDescriptor(service: "grpc.health.v1.Health", method: "Check")
        #expect(method.path == "/grpc.health.v1.Health/Check")
        #expect(method.description == method.path)
        #expect(MethodDescriptor(path: method.path) == method)
    }

    @Test(arguments: ["/a/b", "/sluice.v1.Objects/Get", "/x.y.Z/Method_With_Underscores"])
    func validPaths(_ path: String) throws {
        let method = try #require(MethodDescriptor(path: path))
        #expect(method.path == path)
    }

    @Test(arguments: ["", "/", "//", "//Check", "/Health/", "Health/Check", "/a/b/c", "/a/b/", "a", "/a", "/a//b"])
    func invalidPaths(_ path: String) {
        #expect(MethodDescriptor(path: path) == nil)
    }
}

@Suite struct StatusCodeTests {
    @Test func wireValues() {
        for code in StatusCode.allCases {
            #expect(StatusCode(wireValue: String(code.rawValue)) == code)
        }
        #expect(StatusCode.allCases.count == 17)
        #expect(StatusCode.internal.rawValue == 13 && StatusCode.unauthenticated.rawValue == 16)
    }

    @Test(arguments: ["17", "-1", "", "abc", " 1", "1 ", "0x1", "99999999999999999999"])
    func unknownWireValuesAreUnknown(_ value: String) {
        #expect(StatusCode(wireValue: value) == .unknown)
    }

    @Test func httpStatusMapping() {
        let expected: [Int: StatusCode] = [
            400: .internal, 401: .unauthenticated, 403: .permissionDenied, 404: .unimplemented,
            429: .unavailable, 502: .unavailable, 503: .unavailable, 504: .unavailable,
            200: .unknown, 405: .unknown, 415: .unknown, 500: .unknown, 0: .unknown,
        ]
        for (http, code) in expected {
            #expect(StatusCode(httpStatus: http) == code, "HTTP \(http)")
        }
    }

    @Test func canonicalNames() {
        #expect(StatusCode.ok.description == "OK")
        #expect(StatusCode.deadlineExceeded.description == "DEADLINE_EXCEEDED")
        #expect(StatusCode.resourceExhausted.description == "RESOURCE_EXHAUSTED")
        #expect(RPCError(.notFound, "gone").description == "NOT_FOUND: gone")
    }
}
