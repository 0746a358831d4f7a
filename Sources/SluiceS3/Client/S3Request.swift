import Foundation

/// One S3 operation before it is addressed and signed: the parts that stay the same across
/// retries (each attempt is signed afresh, with its own date).
struct S3Request {
    var operation: String
    var method: String
    /// The object key, or nil for a request on the bucket itself.
    var key: String?
    var query: [(name: String, value: String)] = []
    var headers: [(name: String, value: String)] = []
    /// Lowercase hex SHA-256 of the body; S3 checks the body against it.
    var payloadHash = S3Request.emptyPayloadHash
    var body: HTTPRequestBody?

    /// The operation's name for metrics: from a fixed set, never holding a key or a prefix.
    var metricName: String {
        switch (method, key == nil) {
        case ("HEAD", true): "head_bucket"
        case ("HEAD", false): "head_object"
        case ("GET", true): "list_objects"
        case ("GET", false): "get_object"
        case ("PUT", _): "put_object"
        case ("DELETE", _): "delete_object"
        default: "other"
        }
    }

    /// The SHA-256 of no bytes.
    static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// The request as sent at `date`: addressed for `endpoint` and signed by `signer`.
    func signed(for endpoint: S3Endpoint, by signer: SigV4Signer, at date: Date) -> HTTPRequest {
        let path = endpoint.path(forKey: key)
        var headers = [(name: "host", value: endpoint.authority), (name: "x-amz-content-sha256", value: payloadHash)]
        headers += self.headers
        let signable = SignableRequest(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash)
        headers += signer.signatureHeaders(for: signable, date: date)
        // The query goes out encoded exactly as the canonical request encodes it, so the server's
        // canonical form of what it receives matches the one signed.
        let queryString = query
            .map { AWSPercentEncoding.encode($0.name) + "=" + AWSPercentEncoding.encode($0.value) }
            .sorted()
            .joined(separator: "&")
        let url = "\(endpoint.scheme)://\(endpoint.authority)\(path)" + (queryString.isEmpty ? "" : "?" + queryString)
        return HTTPRequest(method: method, url: url, headers: headers, body: body)
    }
}
