import SluiceOpenSSL
import Testing

/// SHA-256 against the NIST FIPS 180-2 example vectors.
@Suite struct SHA256Tests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    @Test func emptyMessage() {
        #expect(Self.hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let hasher = SHA256()
        #expect(Self.hex(hasher.finalize()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func abc() {
        #expect(Self.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func message448Bits() {
        let message = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(message.count * 8 == 448)
        #expect(Self.hex(SHA256.hash(message)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func message896Bits() {
        let message = Array(
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8)
        #expect(message.count * 8 == 896)
        #expect(Self.hex(SHA256.hash(message)) == "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    @Test func oneMillionAsInOnePiece() {
        let message = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(Self.hex(SHA256.hash(message)) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func oneMillionAsInUnevenPieces() {
        var hasher = SHA256()
        var remaining = 1_000_000
        let sizes = [1, 0, 63, 64, 65, 2, 127, 4099, 0, 55, 56, 57, 65_536, 3]
        var index = 0
        while remaining > 0 {
            let count = min(remaining, sizes[index % sizes.count])
            let piece = [UInt8](repeating: UInt8(ascii: "a"), count: count)
            if index % 2 == 0 {
                hasher.update(piece)
            } else {
                piece.withUnsafeBytes { hasher.update($0) }
            }
            remaining -= count
            index += 1
        }
        hasher.update([])
        #expect(Self.hex(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func independentHashersDoNotInterfere() {
        var first = SHA256()
        var second = SHA256()
        first.update(Array("ab".utf8))
        second.update(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
        first.update(Array("c".utf8))
        #expect(Self.hex(first.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Self.hex(second.finalize()) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
