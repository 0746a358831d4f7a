import Foundation
import SluiceS3
import Testing

/// The signer against botocore's S3SigV4Auth on the kinds of request Sluice's S3 client sends
/// (Tests/Vectors/sigv4/botocore-cases.json; Tests/Interop/test_sigv4_botocore.py proves the
/// file is botocore's output). Agreement here means an S3 server that accepts boto3 accepts us.
@Suite struct SigV4BotocoreTests {
    @Test func fixtureHoldsEveryCase() throws {
        #expect(try SigV4Fixtures.botocore.get().cases.count == 12)
    }

    @Test(arguments: (try? SigV4Fixtures.botocore.get().cases) ?? [])
    func matchesBotocore(_ testCase: SigV4Fixtures.Botocore.Case) {
        let signature = testCase.signer.sign(testCase.request, date: testCase.date)
        #expect(signature.canonicalRequest == testCase.canonicalRequest)
        #expect(signature.stringToSign == testCase.stringToSign)

        let headers = testCase.signer.signatureHeaders(for: testCase.request, date: testCase.date)
        #expect(headers.map { [$0.name, $0.value] } == testCase.addedHeaders)
    }

    @Test(arguments: (try? SigV4Fixtures.botocore.get().cases) ?? [])
    func payloadHashIsTheBodys(_ testCase: SigV4Fixtures.Botocore.Case) {
        #expect(testCase.payloadHash == "UNSIGNED-PAYLOAD" || testCase.payloadHash == testCase.bodySHA256)
    }
}
