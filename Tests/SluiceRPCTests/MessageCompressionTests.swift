import SluiceRPC
import Testing

@Suite struct MessageCompressionTests {
    @Test(arguments: [0, 1, 100, 65_535, 65_536, 200_001])
    func gzipRoundTrip(size: Int) throws {
        var generator = SplitMix64(seed: UInt64(size))
        // Half random, half repetitive, so both stored and compressed blocks occur.
        let bytes = (0..<size).map { index in
            index % 2 == 0 ? UInt8.random(in: 0...255, using: &generator) : UInt8(truncatingIfNeeded: index / 100)
        }
        let compressed = try MessageCompression.gzip.compress(bytes)
        #expect(compressed.starts(with: [0x1F, 0x8B]), "gzip magic")
        #expect(try MessageCompression.gzip.decompress(compressed, limit: size) == bytes)
    }

    @Test func repetitiveDataShrinks() throws {
        let bytes = [UInt8](repeating: 65, count: 1 << 20)
        let compressed = try MessageCompression.gzip.compress(bytes)
        #expect(compressed.count < 10_000)
    }

    @Test func corruptGzipIsInternal() throws {
        var compressed = try MessageCompression.gzip.compress(Array("hello, hello, hello, world".utf8))
        compressed[12] ^= 0xFF
        compressed[13] ^= 0x55
        let error = #expect(throws: RPCError.self) { try MessageCompression.gzip.decompress(compressed, limit: 1 << 20) }
        #expect(error?.code == .internal)

        let notGzip = #expect(throws: RPCError.self) {
            try MessageCompression.gzip.decompress(Array("plain text, not gzip".utf8), limit: 1 << 20)
        }
        #expect(notGzip?.code == .internal)

        let empty = #expect(throws: RPCError.self) { try MessageCompression.gzip.decompress([], limit: 1 << 20) }
        #expect(empty?.code == .internal)
    }

    /// Several gzip members read as one message (as gzip readers do); anything else after the
    /// gzip data is refused rather than ignored.
    @Test func concatenatedMembersAreOneMessageAndTrailingBytesAreRefused() throws {
        let first = try MessageCompression.gzip.compress(Array("hello, ".utf8))
        let second = try MessageCompression.gzip.compress(Array("world".utf8))
        #expect(try MessageCompression.gzip.decompress(first + second, limit: 1 << 20) == Array("hello, world".utf8))
        for junk: [UInt8] in [[0], [0x1F], Array("junk".utf8)] {
            let error = #expect(throws: RPCError.self) {
                try MessageCompression.gzip.decompress(first + second + junk, limit: 1 << 20)
            }
            #expect(error?.code == .internal && error?.message.contains("after its gzip data") == true)
        }
    }

    @Test func truncatedGzipIsInternal() throws {
        let compressed = try MessageCompression.gzip.compress((0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        for length in [1, 10, compressed.count / 2, compressed.count - 1] {
            let error = #expect(throws: RPCError.self) {
                try MessageCompression.gzip.decompress(Array(compressed.prefix(length)), limit: 1 << 20)
            }
            #expect(error?.code == .internal, "truncated to \(length) bytes")
        }
    }

    @Test func decompressionBombIsResourceExhausted() throws {
        let bomb = try MessageCompression.gzip.compress([UInt8](repeating: 0, count: 64 << 20))
        #expect(bomb.count < 100_000)
        let error = #expect(throws: RPCError.self) { try MessageCompression.gzip.decompress(bomb, limit: 1 << 20) }
        #expect(error?.code == .resourceExhausted)
        #expect(error?.message.contains("\(1 << 20)") == true)
    }

    @Test func outputExactlyAtTheLimitIsAccepted() throws {
        let bytes = [UInt8](repeating: 3, count: 100_000)
        let compressed = try MessageCompression.gzip.compress(bytes)
        #expect(try MessageCompression.gzip.decompress(compressed, limit: 100_000) == bytes)
        #expect(throws: RPCError.self) { try MessageCompression.gzip.decompress(compressed, limit: 99_999) }
    }

    @Test func encodingNames() throws {
        #expect(try MessageCompression.forEncoding(nil) == nil)
        #expect(try MessageCompression.forEncoding("identity") == nil)
        #expect(try MessageCompression.forEncoding("gzip") == .gzip)
        #expect(MessageCompression.acceptedNames == ["identity", "gzip"])
        for name in ["deflate", "br", "snappy", "", "gzip,identity"] {
            let error = #expect(throws: RPCError.self) { try MessageCompression.forEncoding(name) }
            #expect(error?.code == .unimplemented, "\(name)")
            #expect(error?.message.contains("'\(name)'") == true)
            #expect(error?.message.contains("identity,gzip") == true)
        }
    }
}
