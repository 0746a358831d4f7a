import Foundation

/// Where a bucket is served and how its requests are addressed.
public struct S3Endpoint: Sendable, Equatable {
    /// How the bucket appears in a request: in the host name (AWS's default) or as the first
    /// path segment (what MinIO, Ceph and local test servers usually need).
    public enum Addressing: String, Sendable {
        case virtualHost = "virtual"
        case path
    }

    public var bucket: String
    /// "https" or "http".
    public var scheme: String
    /// The service host, without the bucket.
    public var host: String
    /// The port, when not the scheme's default.
    public var port: Int?
    public var region: String
    public var addressing: Addressing

    public init(bucket: String, scheme: String, host: String, port: Int?, region: String, addressing: Addressing) {
        self.bucket = bucket
        self.scheme = scheme
        self.host = host
        self.port = port
        self.region = region
        self.addressing = addressing
    }

    /// The Host header and URL authority of a request, bucket included when virtual-host style.
    var authority: String {
        let name = addressing == .virtualHost ? "\(bucket).\(host)" : host
        return port.map { "\(name):\($0)" } ?? name
    }

    /// The path of the bucket (`key` nil) or of an object, percent-encoded as sent and signed.
    func path(forKey key: String?) -> String {
        let bucketPath = addressing == .path ? "/" + AWSPercentEncoding.encode(bucket) : ""
        guard let key else { return bucketPath.isEmpty ? "/" : bucketPath }
        return bucketPath + "/" + AWSPercentEncoding.encode(key, keepingSlashes: true)
    }
}
