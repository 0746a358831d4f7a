import Foundation
import SluiceOpenSSL
import SluiceS3
import Testing

/// The signer against published vectors: AWS's Signature Version 4 test suite (generic path
/// canonicalization) and the S3 API Reference's header-signing examples (S3's). Each step is
/// compared: canonical request, string to sign, then the Authorization header.
@Suite struct SigV4TestSuiteTests {
    private static func payloadHash(_ body: String) -> String {
        Hex.encode(SHA256.hash(Array(body.utf8)))
    }

    @Test func fixturesHoldEnoughCases() throws {
        #expect(try SigV4Fixtures.suite.get().cases.count == 30)
        #expect(try SigV4Fixtures.s3Examples.get().cases.count == 4)
    }

    @Test(arguments: SigV4Fixtures.cases(SigV4Fixtures.suite))
    func awsTestSuite(_ testCase: SigV4Fixtures.Published.Case) throws {
        try check(testCase, in: SigV4Fixtures.suite.get(), exactAuthorization: true)
    }

    @Test(arguments: SigV4Fixtures.cases(SigV4Fixtures.s3Examples))
    func s3DocumentationExample(_ testCase: SigV4Fixtures.Published.Case) throws {
        // S3's examples send x-amz-content-sha256; it must be the payload hash signed.
        let raw = try RawHTTPRequest(testCase.req, payloadHash: Self.payloadHash)
        let sent = raw.request.headers.first { $0.name.lowercased() == "x-amz-content-sha256" }?.value
        #expect(sent == raw.request.payloadHash)
        try check(testCase, in: SigV4Fixtures.s3Examples.get(), exactAuthorization: false)
    }

    private func check(
        _ testCase: SigV4Fixtures.Published.Case, in file: SigV4Fixtures.Published, exactAuthorization: Bool
    ) throws {
        let raw = try RawHTTPRequest(testCase.req, payloadHash: Self.payloadHash)
        let signer = file.signer(for: testCase)
        let date = SigV4Fixtures.date(amz: file.date)

        let signature = signer.sign(raw.request, date: date)
        #expect(signature.canonicalRequest == testCase.creq)
        #expect(signature.stringToSign == testCase.sts)

        let headers = signer.signatureHeaders(for: raw.request, date: date)
        #expect(headers.map(\.name) == signature.headers.map(\.name))
        #expect(headers.first?.name == "x-amz-date")
        #expect(headers.first?.value == file.date)
        let authorization = try #require(headers.last { $0.name == "authorization" }).value
        if exactAuthorization {
            #expect(authorization == testCase.authz)
        } else {
            #expect(
                SigV4Fixtures.authorizationParts(authorization) == SigV4Fixtures.authorizationParts(testCase.authz))
        }
    }
}
