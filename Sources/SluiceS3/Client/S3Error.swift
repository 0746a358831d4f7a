/// Why an S3 operation failed, in words an operator can act on.
///
/// ``unavailable`` is what is left after retries: throttling, server errors, timeouts and
/// dropped connections that did not clear up. ``refused`` is an answer that retrying cannot
/// change: credentials, permissions, a missing bucket, a wrong region.
public enum S3Error: Error, Equatable, CustomStringConvertible {
    /// No object under the key (404 NoSuchKey).
    case noSuchKey(String)
    /// The range asked for lies outside the object, whose size the server gave when it did.
    case rangeNotSatisfiable(key: String, objectSize: Int64?)
    /// The server answered with an error retrying will not fix.
    case refused(operation: String, status: Int, code: String, message: String)
    /// Every attempt failed with an error worth retrying; `lastFailure` says what the last was,
    /// `lastAnswer` the server's status and code when the last attempt had an answer ("HTTP 503
    /// SlowDown"; nil after a connection failure or timeout).
    case unavailable(operation: String, attempts: Int, lastFailure: String, lastAnswer: String?)
    /// The server stored an object but confirmed a different SHA-256 than the one sent.
    case checksumNotConfirmed(key: String, sent: String, confirmed: String)
    /// The server's answer could not be understood.
    case malformedResponse(operation: String, detail: String)
    /// The caller gave up.
    case cancelled

    public var description: String {
        switch self {
        case .noSuchKey(let key):
            "S3 has no object \(key)"
        case .rangeNotSatisfiable(let key, let size):
            "the range asked of S3 object \(key) is outside it" + (size.map { " (\($0) bytes)" } ?? "")
        case .refused(let operation, let status, let code, let message):
            "S3 refused \(operation): HTTP \(status) \(code)" + (message.isEmpty ? "" : ": \(message)") + Self.hint(code: code, status: status)
        case .unavailable(let operation, let attempts, let lastFailure, _):
            "S3 did not complete \(operation) in \(attempts) attempts; last: \(lastFailure)"
        case .checksumNotConfirmed(let key, let sent, let confirmed):
            "S3 stored \(key) with SHA-256 \(confirmed), not the \(sent) sent"
        case .malformedResponse(let operation, let detail):
            "S3 answered \(operation) with something unreadable: \(detail)"
        case .cancelled:
            "the S3 request was cancelled"
        }
    }

    /// What a client may be told: the kind of failure and S3's error code, never a key, the
    /// bucket, or a library's own words (``description`` has those, for the log).
    public var summary: String {
        switch self {
        case .noSuchKey: "S3 has no such object"
        case .rangeNotSatisfiable: "the range asked of S3 is outside the object"
        case .refused(_, let status, let code, _): "S3 refused the request: HTTP \(status) \(code)"
        case .unavailable(_, let attempts, _, let lastAnswer):
            // S3's status and code are safe to show; a transport failure's text is libcurl's and
            // names the endpoint.
            "S3 did not answer in \(attempts) attempts (last: \(lastAnswer ?? "the connection failed or timed out"))"
        case .checksumNotConfirmed: "S3 confirmed a different SHA-256 than the one sent"
        case .malformedResponse: "S3 answered something unreadable"
        case .cancelled: "the S3 request was cancelled"
        }
    }

    /// What the operator should check for the refusals that are nearly always configuration.
    private static func hint(code: String, status: Int) -> String {
        switch code {
        case "NoSuchBucket": "; create the bucket or fix the bucket name in --blobs"
        case "ExpiredToken", "TokenRefreshRequired":
            "; the temporary credentials expired: renew them in the shared credentials file (sluiced reads it "
                + "again when it changes), or restart sluiced with new ones in its environment"
        case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch":
            "; check the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or the shared credentials file) and the bucket policy"
        case "AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException":
            "; the region in --blobs does not match the bucket's"
        default: status == 301 ? "; the region or endpoint in --blobs does not match the bucket's" : ""
        }
    }
}
