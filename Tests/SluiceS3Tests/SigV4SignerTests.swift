import Foundation
import SluiceOpenSSL
import Testing

@testable import SluiceS3

/// Behaviour the published vectors do not pin down: what the signer adds and replaces, the
/// timestamp arithmetic, and path normalization edges.
@Suite struct SigV4SignerTests {
    static let credentials = AWSCredentials(
        accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    static func request(headers: [(name: String, value: String)]) -> SignableRequest {
        SignableRequest(
            method: "GET", path: "/test.txt",
            headers: [(name: "Host", value: "examplebucket.s3.amazonaws.com")] + headers, payloadHash: emptyHash)
    }

    @Test func addsDateThenTokenThenAuthorization() {
        var credentials = Self.credentials
        credentials.sessionToken = "token/with+symbols="
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        let headers = signer.signatureHeaders(for: Self.request(headers: []), date: Self.date)
        #expect(headers.map(\.name) == ["x-amz-date", "x-amz-security-token", "authorization"])
        #expect(headers[0].value == "20130524T000000Z")
        #expect(headers[1].value == "token/with+symbols=")
        #expect(headers[2].value.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"))
    }

    @Test func withoutSessionTokenAddsNoTokenHeader() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        let headers = signer.signatureHeaders(for: Self.request(headers: []), date: Self.date)
        #expect(headers.map(\.name) == ["x-amz-date", "authorization"])
    }

    /// A retried request may still carry the previous attempt's headers; signing it again must
    /// give what signing the clean request gives.
    @Test func replacesHeadersItAdds() {
        var credentials = Self.credentials
        credentials.sessionToken = "fresh"
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        let clean = signer.sign(Self.request(headers: []), date: Self.date)
        let stale = signer.sign(
            Self.request(headers: [
                (name: "X-Amz-Date", value: "20000101T000000Z"), (name: "Authorization", value: "AWS4-HMAC-SHA256 old"),
                (name: "x-amz-security-token", value: "stale"),
            ]), date: Self.date)
        #expect(stale.canonicalRequest == clean.canonicalRequest)
        #expect(stale.signature == clean.signature)
    }

    @Test func canonicalRequestOfTheS3GetObjectExample() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "s3")
        let request = Self.request(headers: [
            (name: "Range", value: "bytes=0-9"), (name: "x-amz-content-sha256", value: Self.emptyHash),
        ])
        let signature = signer.sign(request, date: Self.date)
        #expect(
            signature.canonicalRequest == """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:\(Self.emptyHash)
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                \(Self.emptyHash)
                """)
        #expect(signature.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test(arguments: [
        (0.0, "19700101T000000Z"),
        (951_782_400, "20000229T000000Z"),
        (1_440_938_160, "20150830T123600Z"),
        (1_709_251_199, "20240229T235959Z"),
        (1_709_251_199.999, "20240229T235959Z"),
        (4_102_444_800, "21000101T000000Z"),
        (-1, "19691231T235959Z"),
        (-86_400 * 365, "19690101T000000Z"),
    ] as [(Double, String)])
    func timestamp(_ seconds: Double, _ expected: String) {
        #expect(AMZDate(Date(timeIntervalSince1970: seconds)).text == expected)
        #expect(AMZDate(Date(timeIntervalSince1970: seconds)).day == String(expected.prefix(8)))
    }

    @Test(arguments: [
        ("", "/"),
        ("/", "/"),
        ("/a/b/../c", "/a/c"),
        ("/a/b/..", "/a"),
        ("/../..", "/"),
        ("/a//b/", "/a/b/"),
        ("/a/./b/.", "/a/b"),
        ("a/b", "/a/b"),
    ])
    func genericPathNormalization(_ path: String, _ expected: String) {
        #expect(CanonicalRequest.normalized(path) == expected)
    }

    @Test func genericPathIsEncodedOnceMoreButS3PathIsNot() {
        #expect(CanonicalRequest.uri(path: "/a%20b/c d", canonicalization: .generic) == "/a%2520b/c%20d")
        #expect(CanonicalRequest.uri(path: "/a%20b/../c", canonicalization: .s3) == "/a%20b/../c")
        #expect(CanonicalRequest.uri(path: "", canonicalization: .s3) == "/")
    }

    @Test func querySortsByEncodedNameThenValueInByteOrder() {
        let query = CanonicalRequest.query([
            (name: "b", value: "2"), (name: "a", value: "z"), (name: "a", value: "Z"), (name: "A", value: ""),
            (name: "a b", value: "="), (name: "\u{e9}", value: "x"), (name: "~", value: "x"),
        ])
        #expect(query == "%C3%A9=x&A=&a=Z&a=z&a%20b=%3D&b=2&~=x")
    }

    @Test func headerNamesAreLoweredAndRepeatsJoinedInOrder() {
        let headers = CanonicalRequest.Headers([
            (name: "X-B", value: " 2 "), (name: "x-a", value: "1"), (name: "x-b", value: "a \t  b"),
            (name: "X-B", value: ""),
        ])
        #expect(headers.block == "x-a:1\nx-b:2,a b,\n")
        #expect(headers.signedNames == "x-a;x-b")
    }

    @Test func credentialsNeverPrintTheSecret() {
        var credentials = Self.credentials
        credentials.sessionToken = "token-value"
        let text = "\(credentials) \(String(reflecting: credentials))"
        #expect(text.contains("AKIAIOSFODNN7EXAMPLE"))
        #expect(!text.contains(Self.credentials.secretAccessKey))
        #expect(!text.contains("token-value"))
    }
}
