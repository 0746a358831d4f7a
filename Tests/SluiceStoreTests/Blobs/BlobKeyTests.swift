import Testing
@testable import SluiceStore

@Suite struct BlobKeyTests {
    @Test(arguments: ["a", "shared", "abc-123", "-", "0", String(repeating: "z", count: 64)])
    func acceptsScope(_ scope: String) throws {
        let key = try BlobKey(scope: scope, sha256: [UInt8](repeating: 7, count: 32))
        #expect(key.scope == scope)
    }

    @Test(arguments: ["", String(repeating: "z", count: 65), "A", "a/b", ".", "..", "a b", "a_b", "é", "a.b", "a\0b", "a\\b"])
    func rejectsScope(_ scope: String) {
        #expect(throws: BlobError.invalidScope(scope)) {
            try BlobKey(scope: scope, sha256: [UInt8](repeating: 7, count: 32))
        }
    }

    @Test func rejectsDigestOfWrongLength() {
        for count in [0, 31, 33] {
            #expect(throws: BlobError.self) { try BlobKey(scope: "a", sha256: [UInt8](repeating: 1, count: count)) }
        }
    }

    @Test func hexRoundTrips() throws {
        let digest = (0..<32).map { UInt8($0 * 8) }
        let key = try BlobKey(scope: "a", sha256: digest)
        #expect(key.hex == "0008101820283038404850586068707880889098a0a8b0b8c0c8d0d8e0e8f0f8")
        #expect(try BlobKey(scope: "a", hex: key.hex) == key)
        #expect(key.description == "a/\(key.hex)")
    }

    @Test(arguments: [
        "0008101820283038404850586068707880889098A0A8B0B8C0C8D0D8E0E8F0F8",  // uppercase: not the canonical spelling
        "0008101820283038404850586068707880889098a0a8b0b8c0c8d0d8e0e8f0f",  // 63 digits
        "0008101820283038404850586068707880889098a0a8b0b8c0c8d0d8e0e8f0fg",  // not hex
        "",
    ])
    func rejectsHex(_ hex: String) {
        #expect(throws: BlobError.self) { try BlobKey(scope: "a", hex: hex) }
    }

    @Test func equalityIncludesScope() throws {
        let digest = [UInt8](repeating: 9, count: 32)
        #expect(try BlobKey(scope: "a", sha256: digest) != BlobKey(scope: "b", sha256: digest))
        #expect(try BlobKey(scope: "a", sha256: digest) == BlobKey(scope: "a", sha256: digest))
    }
}
