/// One HTTP request as the S3 client sends it; libcurl adds nothing to it but Content-Length.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The absolute URL, already percent-encoded.
    public var url: String
    /// Header lines in the order sent; the "host" header here is the one sent (and signed).
    public var headers: [(name: String, value: String)]
    /// What to upload, or nil for none.
    public var body: HTTPRequestBody?

    public init(method: String, url: String, headers: [(name: String, value: String)], body: HTTPRequestBody? = nil) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A request body that can be sent again from its start, which is what lets a failed upload be
/// retried without keeping it in memory: a byte range of a local file, read as it is sent.
public struct HTTPRequestBody: Sendable {
    public let path: String
    public let length: Int64

    public init(file path: String, length: Int64) {
        self.path = path
        self.length = length
    }
}

/// What came back: the status, the headers of the final response (names lowercased), and the
/// body when nobody streamed it (error documents, listings).
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]

    public var isSuccess: Bool { (200..<300).contains(status) }
}
