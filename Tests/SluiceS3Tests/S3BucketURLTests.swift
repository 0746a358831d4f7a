import Testing
@testable import SluiceS3

@Suite struct S3BucketURLTests {
    @Test func awsBucketDefaultsToVirtualHostsInUsEast1() throws {
        let url = try S3BucketURL(parsing: "s3://my-bucket/sluice/prod")
        #expect(url.endpoint == S3Endpoint(
            bucket: "my-bucket", scheme: "https", host: "s3.us-east-1.amazonaws.com", port: nil,
            region: "us-east-1", addressing: .virtualHost))
        #expect(url.prefix == "sluice/prod/")
        #expect(url.endpoint.authority == "my-bucket.s3.us-east-1.amazonaws.com")
        #expect(url.endpoint.path(forKey: "sluice/prod/blobs/p1/ab cd") == "/sluice/prod/blobs/p1/ab%20cd")
        #expect(url.endpoint.path(forKey: nil) == "/")
    }

    @Test func aRegionThatCannotBeAHostNameIsRefusedNotATrap() {
        for region in ["a%20b", "", "EU", "eu_west"] {
            #expect(throws: S3BucketURLError.self) { try S3BucketURL(parsing: "s3://my-bucket?region=\(region)") }
        }
    }

    @Test func customEndpointDefaultsToPathStyleAndKeepsItsPort() throws {
        let url = try S3BucketURL(parsing: "s3://bucket?endpoint=http://127.0.0.1:9000&region=eu-west-3&ca=/etc/ca.pem")
        #expect(url.endpoint.addressing == .path)
        #expect(url.endpoint.authority == "127.0.0.1:9000")
        #expect(url.endpoint.region == "eu-west-3")
        #expect(url.endpoint.scheme == "http")
        #expect(url.endpoint.path(forKey: "blobs/x") == "/bucket/blobs/x")
        #expect(url.endpoint.path(forKey: nil) == "/bucket")
        #expect(url.prefix == "")
        #expect(url.caFile == "/etc/ca.pem")
    }

    @Test func addressingCanBeChosen() throws {
        let url = try S3BucketURL(parsing: "s3://bucket/p?endpoint=https://minio.example:443&addressing=virtual")
        #expect(url.endpoint.addressing == .virtualHost)
        #expect(url.endpoint.authority == "bucket.minio.example:443")
    }

    @Test(arguments: [
        ("file:///tmp", "is not s3://"),
        ("s3://", "is not s3://"),
        ("s3://Bad_Bucket", "not a valid bucket name"),
        ("s3://bucket?endpoint=ftp://host", "is not http(s)://HOST[:PORT]"),
        ("s3://bucket?endpoint=http://host/path", "is not http(s)://HOST[:PORT]"),
        ("s3://bucket?addressing=dns", "neither 'path' nor 'virtual'"),
        ("s3://bucket?regoin=x", "unknown parameter 'regoin'"),
    ])
    func malformedURLsAreRefusedWithTheReason(text: String, reason: String) {
        #expect {
            try S3BucketURL(parsing: text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}
