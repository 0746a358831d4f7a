/// A request as the signer sees it.
///
/// The signer never builds or sends requests, so it takes exactly the parts Signature Version 4
/// covers, in the form the HTTP layer already has them: the path as it goes on the wire, but the
/// query still decoded, because the signature needs each name and value encoded the AWS way and
/// sorted, which a finished query string would have to be parsed again for.
public struct SignableRequest: Sendable {
    /// "GET", "PUT", ...; signed as given, so give it as it is sent.
    public var method: String
    /// Exactly as sent on the wire, already percent-encoded, e.g. "/bucket/blobs/a%20b".
    public var path: String
    /// Decoded (not yet encoded) names and values, in any order; "" as the value of a bare
    /// name such as `?uploads`.
    public var query: [(name: String, value: String)]
    /// What will be sent, including "host" (with ":port" when not the scheme's default), in any
    /// case. Every one of them is signed, so each must reach the server unchanged.
    public var headers: [(name: String, value: String)]
    /// Lower-case hex SHA-256 of the body, or "UNSIGNED-PAYLOAD". S3 also wants it sent as the
    /// `x-amz-content-sha256` header, which the caller adds to `headers`.
    public var payloadHash: String

    public init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)], payloadHash: String
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payloadHash = payloadHash
    }
}
