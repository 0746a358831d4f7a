import SluiceS3
import Testing

/// SigV4's UriEncode: only RFC 3986 unreserved bytes survive, everything else is %XX upper case.
@Suite struct AWSPercentEncodingTests {
    @Test func unreservedCharactersStay() {
        let unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
        #expect(AWSPercentEncoding.encode(unreserved) == unreserved)
    }

    @Test(arguments: [
        (" ", "%20"), ("+", "%2B"), ("=", "%3D"), ("&", "%26"), ("/", "%2F"), ("%", "%25"), ("*", "%2A"),
        ("$", "%24"), ("!", "%21"), ("'", "%27"), ("(", "%28"), (":", "%3A"), ("@", "%40"), ("?", "%3F"),
        ("#", "%23"), ("\n", "%0A"), ("\u{0}", "%00"), ("\u{7f}", "%7F"),
    ])
    func reservedAndControlBytesAreEncoded(_ text: String, _ expected: String) {
        #expect(AWSPercentEncoding.encode(text) == expected)
    }

    @Test func utf8BytesInUpperCaseHex() {
        #expect(AWSPercentEncoding.encode("\u{1234}") == "%E1%88%B4")
        #expect(AWSPercentEncoding.encode("caf\u{e9} \u{20ac}") == "caf%C3%A9%20%E2%82%AC")
        #expect(AWSPercentEncoding.encode("\u{1F600}") == "%F0%9F%98%80")
    }

    @Test func slashesKeptOnlyWhenAsked() {
        #expect(AWSPercentEncoding.encode("blobs/a b/c", keepingSlashes: true) == "blobs/a%20b/c")
        #expect(AWSPercentEncoding.encode("blobs/a b/c") == "blobs%2Fa%20b%2Fc")
        #expect(AWSPercentEncoding.encode("test$file.text", keepingSlashes: true) == "test%24file.text")
    }

    @Test func emptyStaysEmpty() {
        #expect(AWSPercentEncoding.encode("") == "")
    }
}
