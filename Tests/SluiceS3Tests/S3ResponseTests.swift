import Foundation
import Testing
@testable import SluiceS3

@Suite struct S3ResponseTests {
    @Test func listingPagesAreRead() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
              <Name>bucket</Name><Prefix>blobs/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys>
              <IsTruncated>true</IsTruncated><NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
              <Contents><Key>blobs/p1/aa</Key><LastModified>2026-11-21T08:09:15.123Z</LastModified><ETag>"x"</ETag><Size>42</Size></Contents>
              <Contents><Key>blobs/p1/b&amp;b</Key><LastModified>2026-11-21T08:09:16Z</LastModified><Size>7</Size></Contents>
            </ListBucketResult>
            """
        let listing = try #require(S3XMLElement.parse(Array(xml.utf8)).flatMap(S3ObjectListing.init))
        #expect(listing.entries.map(\.key) == ["blobs/p1/aa", "blobs/p1/b&b"])
        #expect(listing.entries.map(\.size) == [42, 7])
        #expect(listing.entries[0].lastModified == Date(timeIntervalSince1970: 1_795_248_555.123))
        #expect(listing.nextContinuationToken == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=")
    }

    @Test func aLastPageHasNoContinuation() throws {
        let xml = "<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>"
        let listing = try #require(S3XMLElement.parse(Array(xml.utf8)).flatMap(S3ObjectListing.init))
        #expect(listing.entries.isEmpty)
        #expect(listing.nextContinuationToken == nil)
    }

    @Test func somethingElseIsNotAListing() {
        #expect(S3XMLElement.parse(Array("<Error><Code>NoSuchBucket</Code></Error>".utf8)).flatMap(S3ObjectListing.init) == nil)
        #expect(S3XMLElement.parse(Array("not xml".utf8)) == nil)
    }

    @Test func throttlingServerErrorsAndGarbledBodiesAreRetried() {
        for (status, code) in [(503, "SlowDown"), (500, "InternalError"), (400, "RequestTimeout"), (400, "BadDigest"),
                               (400, "XAmzContentSHA256Mismatch"), (502, ""), (504, ""), (429, "")] {
            #expect(S3RetryPolicy.isRetryable(status: status, code: code), "\(status) \(code)")
        }
        for (status, code) in [(403, "AccessDenied"), (404, "NoSuchBucket"), (404, "NoSuchKey"), (400, "InvalidArgument"),
                               (301, "PermanentRedirect"), (403, "RequestTimeTooSkewed")] {
            #expect(!S3RetryPolicy.isRetryable(status: status, code: code), "\(status) \(code)")
        }
    }

    @Test func backoffGrowsWithJitterUpToTheCap() {
        let policy = S3RetryPolicy(attempts: 10, baseDelay: .milliseconds(100), maxDelay: .seconds(1))
        for attempt in 1...10 {
            let ceiling = min(Duration.seconds(1), .milliseconds(100) * (1 << (attempt - 1)))
            for _ in 0..<20 {
                let delay = policy.delay(after: attempt)
                #expect(delay >= .zero && delay <= ceiling)
            }
        }
    }

    @Test func refusalsTellTheOperatorWhatToCheck() {
        let bucket = S3Error.refused(operation: "HEAD bucket b", status: 404, code: "NoSuchBucket", message: "")
        #expect(bucket.description.contains("create the bucket"))
        let credentials = S3Error.refused(operation: "PUT k", status: 403, code: "SignatureDoesNotMatch", message: "no")
        #expect(credentials.description.contains("AWS_ACCESS_KEY_ID"))
    }
}
