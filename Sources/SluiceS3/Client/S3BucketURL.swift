import Foundation

/// A bucket and key prefix as an operator names them:
///
///     s3://BUCKET[/PREFIX][?endpoint=URL][&region=REGION][&addressing=path|virtual][&ca=PEM-FILE]
///
/// Without an endpoint the bucket is on AWS (`https://s3.REGION.amazonaws.com`, virtual-host
/// addressing); with one (MinIO, Ceph, a local server) addressing defaults to path style, which
/// needs no wildcard DNS. The region defaults to us-east-1.
public struct S3BucketURL: Sendable, Equatable {
    public var endpoint: S3Endpoint
    /// Prepended to every key: empty, or ending in "/".
    public var prefix: String
    /// A CA bundle to trust for the endpoint instead of the system's.
    public var caFile: String?

    /// Parses `text`; the error says which part is wrong and what it should look like.
    public init(parsing text: String) throws(S3BucketURLError) {
        guard let components = URLComponents(string: text), components.scheme == "s3",
              let bucket = components.host, !bucket.isEmpty
        else {
            throw S3BucketURLError("'\(text)' is not s3://BUCKET[/PREFIX][?endpoint=URL&region=REGION&addressing=path|virtual]")
        }
        guard bucket.range(of: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", options: .regularExpression) != nil else {
            throw S3BucketURLError("'\(bucket)' is not a valid bucket name (3 to 63 characters of a-z, 0-9, '.' and '-')")
        }
        var parameters: [String: String] = [:]
        for item in components.queryItems ?? [] {
            guard ["endpoint", "region", "addressing", "ca"].contains(item.name) else {
                throw S3BucketURLError("unknown parameter '\(item.name)' in \(text); known: endpoint, region, addressing, ca")
            }
            parameters[item.name] = item.value ?? ""
        }
        let region = parameters["region"] ?? "us-east-1"
        let service: URLComponents
        if let endpoint = parameters["endpoint"] {
            guard let parsed = URLComponents(string: endpoint), ["http", "https"].contains(parsed.scheme),
                  let host = parsed.host, !host.isEmpty, parsed.path.isEmpty || parsed.path == "/"
            else {
                throw S3BucketURLError("endpoint '\(endpoint)' is not http(s)://HOST[:PORT]")
            }
            service = parsed
        } else {
            guard !region.isEmpty, region.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }),
                  let standard = URLComponents(string: "https://s3.\(region).amazonaws.com")
            else {
                throw S3BucketURLError("region '\(region)' is not a region name (a-z, 0-9 and '-', like eu-west-1)")
            }
            service = standard
        }
        let addressing: S3Endpoint.Addressing
        switch parameters["addressing"] {
        case nil: addressing = parameters["endpoint"] == nil ? .virtualHost : .path
        case let value?:
            guard let chosen = S3Endpoint.Addressing(rawValue: value) else {
                throw S3BucketURLError("addressing '\(value)' is neither 'path' nor 'virtual'")
            }
            addressing = chosen
        }
        var prefix = String(components.path.drop { $0 == "/" })
        if !prefix.isEmpty, !prefix.hasSuffix("/") { prefix += "/" }
        self.endpoint = S3Endpoint(
            bucket: bucket, scheme: service.scheme!, host: service.host!, port: service.port, region: region, addressing: addressing)
        self.prefix = prefix
        self.caFile = parameters["ca"]
    }
}

/// Why an `s3://` URL was not accepted.
public struct S3BucketURLError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
