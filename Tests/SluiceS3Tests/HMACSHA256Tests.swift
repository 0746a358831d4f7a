import SluiceOpenSSL
import Testing

/// HMACSHA256 (SluiceOpenSSL) against RFC 4231's HMAC-SHA-256 test cases. It lives with the
/// signer's tests because request signing is what it exists for.
@Suite struct HMACSHA256Tests {
    static func bytes(_ hex: String) -> [UInt8] { Hex.decode(hex)! }

    @Test(arguments: [
        // RFC 4231 4.2: 20-byte key, "Hi There".
        (String(repeating: "0b", count: 20), Hex.encode(Array("Hi There".utf8)),
         "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        // 4.3: a key shorter than the output, "what do ya want for nothing?".
        (Hex.encode(Array("Jefe".utf8)), Hex.encode(Array("what do ya want for nothing?".utf8)),
         "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        // 4.4: 50 bytes of 0xdd under 20 bytes of 0xaa.
        (String(repeating: "aa", count: 20), String(repeating: "dd", count: 50),
         "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        // 4.5: 25-byte key 0x01...0x19, 50 bytes of 0xcd.
        ("0102030405060708090a0b0c0d0e0f10111213141516171819", String(repeating: "cd", count: 50),
         "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        // 4.7: a 131-byte key, longer than the block, is hashed first.
        (String(repeating: "aa", count: 131),
         Hex.encode(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)),
         "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        // 4.8: long key and long message.
        (String(repeating: "aa", count: 131),
         Hex.encode(Array(("This is a test using a larger than block-size key and a larger than block-size data. "
            + "The key needs to be hashed before being used by the HMAC algorithm.").utf8)),
         "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ])
    func rfc4231(_ key: String, _ message: String, _ expected: String) {
        let code = HMACSHA256.authenticationCode(key: Self.bytes(key), message: Self.bytes(message))
        #expect(Hex.encode(code) == expected)
    }

    /// Empty inputs have no buffer in Swift; the MAC must still be the real one (Python's
    /// hmac.new(b"", b"", "sha256") and hmac.new(b"key", b"", "sha256")).
    @Test func emptyKeyAndMessage() {
        #expect(
            Hex.encode(HMACSHA256.authenticationCode(key: [], message: []))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
        #expect(
            Hex.encode(HMACSHA256.authenticationCode(key: Array("key".utf8), message: []))
                == "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0")
    }
}
