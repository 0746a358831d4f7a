import SluiceOpenSSL
import Testing

@testable import SluiceClient

/// Sizes as people write them, and hex digests.
@Suite struct ByteSizeAndHexTests {
    static let sizes: [(String, Int64)] = [
        ("1048576", 1_048_576), ("8MiB", 8_388_608), ("8M", 8_388_608), ("8mib", 8_388_608), ("512k", 524_288),
        ("1G", 1_073_741_824), ("5MB", 5_000_000), ("100B", 100), ("64 MiB", 67_108_864),
    ]

    @Test(arguments: sizes)
    func parses(text: String, bytes: Int64) {
        #expect(ByteSize(argument: text)?.bytes == bytes)
    }

    @Test(arguments: ["", "MiB", "8 parsecs", "-1", "1.5M", "99999999999999999999G"])
    func refuses(text: String) {
        #expect(ByteSize(argument: text) == nil)
    }

    @Test func hex() {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.encode([]) == "")
    }
}
