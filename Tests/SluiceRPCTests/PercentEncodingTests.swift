import SluiceRPC
import Testing

@Suite struct PercentEncodingTests {
    @Test func printableASCIIPassesThrough() {
        let printable = String(decoding: (0x20...0x7E).filter { $0 != 0x25 }.map { UInt8($0) }, as: UTF8.self)
        #expect(PercentEncoding.encode(printable) == printable)
        #expect(PercentEncoding.encode("") == "")
    }

    @Test func percentSignIsEscaped() {
        #expect(PercentEncoding.encode("100%") == "100%25")
        #expect(PercentEncoding.encode("%25") == "%2525")
    }

    @Test func controlCharactersAreEscaped() {
        #expect(PercentEncoding.encode("a\nb\tc\r\0") == "a%0Ab%09c%0D%00")
        #expect(PercentEncoding.encode("\u{7F}") == "%7F")
        #expect(PercentEncoding.encode("\u{1F}") == "%1F")
    }

    @Test func nonASCIIIsEscapedAsUTF8Bytes() {
        #expect(PercentEncoding.encode("é") == "%C3%A9")
        #expect(PercentEncoding.encode("précondition ✗ 失败") == "pr%C3%A9condition %E2%9C%97 %E5%A4%B1%E8%B4%A5")
        #expect(PercentEncoding.encode("🙂") == "%F0%9F%99%82")
    }

    @Test func decodesUpperAndLowerCaseHex() {
        #expect(PercentEncoding.decode("pr%C3%A9condition") == "précondition")
        #expect(PercentEncoding.decode("pr%c3%a9condition") == "précondition")
        #expect(PercentEncoding.decode("%41%42%43") == "ABC")
        #expect(PercentEncoding.decode("100%25") == "100%")
    }

    @Test func malformedEscapesAreKeptAsTheyAre() {
        #expect(PercentEncoding.decode("%") == "%")
        #expect(PercentEncoding.decode("abc%") == "abc%")
        #expect(PercentEncoding.decode("abc%4") == "abc%4")
        #expect(PercentEncoding.decode("%zz") == "%zz")
        #expect(PercentEncoding.decode("%4g%41") == "%4gA")
        #expect(PercentEncoding.decode("%%41") == "%A")
        #expect(PercentEncoding.decode("50% off") == "50% off")
        #expect(PercentEncoding.decode("é%") == "é%")
    }

    @Test func invalidUTF8AfterDecodingIsReplacedNotFatal() {
        #expect(PercentEncoding.decode("a%FFb") == "a\u{FFFD}b")
    }

    @Test func randomStringsRoundTrip() {
        var generator = SplitMix64(seed: 2024)
        let pools: [ClosedRange<UInt32>] = [0x00...0x7F, 0x80...0x7FF, 0x800...0xD7FF, 0xE000...0xFFFF, 0x10000...0x10FFFF]
        for _ in 0..<500 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...40, using: &generator) {
                let pool = pools.randomElement(using: &generator)!
                if let scalar = Unicode.Scalar(UInt32.random(in: pool, using: &generator)) { scalars.append(scalar) }
            }
            let text = String(scalars)
            let encoded = PercentEncoding.encode(text)
            #expect(encoded.utf8.allSatisfy { $0 >= 0x20 && $0 <= 0x7E }, "\(encoded)")
            #expect(PercentEncoding.decode(encoded) == text)
        }
    }
}
