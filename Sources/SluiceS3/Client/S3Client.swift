import Foundation
import SluiceDuration
import SluiceMetrics
import SluiceOpenSSL

/// The S3 operations a blob store needs, on one bucket: conditional-free PUT with a SHA-256
/// checksum, HEAD, ranged GET streamed in chunks, DELETE and ListObjectsV2.
///
/// Every request is signed with Signature Version 4 and retried per ``S3RetryPolicy``; a request
/// body is always a file, so a retry resends it from the start without holding it in memory.
public struct S3Client: Sendable {
    public let endpoint: S3Endpoint
    public let retryPolicy: S3RetryPolicy
    let http: HTTPClient
    let credentials: AWSCredentialSource

    public init(endpoint: S3Endpoint, credentials: AWSCredentialSource, retryPolicy: S3RetryPolicy, http: HTTPClient) {
        self.endpoint = endpoint
        self.retryPolicy = retryPolicy
        self.http = http
        self.credentials = credentials
    }

    /// The signer for an attempt about to go out, with the credentials of the moment.
    private var signer: SigV4Signer {
        SigV4Signer(credentials: credentials.current(), region: endpoint.region, service: "s3")
    }

    /// Checks that the bucket exists and the credentials may use it.
    public func checkBucket() async throws {
        _ = try await send(S3Request(operation: "HEAD bucket \(endpoint.bucket)", method: "HEAD", key: nil))
    }

    /// Uploads `length` bytes of the file at `path` to `key` and returns once S3 has stored them
    /// and confirmed their SHA-256 (`sha256`, 32 bytes): S3 rejects a body that does not hash to
    /// the declared checksum, and a confirmation naming another checksum is an error here.
    public func putObject(_ key: String, file path: String, length: Int64, sha256: [UInt8]) async throws {
        let checksum = Data(sha256).base64EncodedString()
        let response = try await send(S3Request(
            operation: "PUT \(key)", method: "PUT", key: key,
            headers: [(name: "x-amz-checksum-sha256", value: checksum)],
            payloadHash: Hex.encode(sha256), body: HTTPRequestBody(file: path, length: length)))
        // Servers that do not echo checksums have still checked the one sent.
        if let confirmed = response.headers["x-amz-checksum-sha256"], confirmed != checksum {
            throw S3Error.checksumNotConfirmed(key: key, sent: checksum, confirmed: confirmed)
        }
    }

    /// The size of the object under `key`, or nil when there is none.
    public func objectSize(_ key: String) async throws -> Int64? {
        try await http.onTransferThread { cancellation in try objectSize(key, cancellation: cancellation) }
    }

    /// ``objectSize(_:)`` on the calling transfer thread.
    func objectSize(_ key: String, cancellation: TransferCancellation) throws -> Int64? {
        let request = S3Request(operation: "HEAD \(key)", method: "HEAD", key: key)
        let response = try execute(request, cancellation: cancellation)
        if isMissingObject(response) { return nil }
        guard response.isSuccess else { throw refusal(request, response) }
        guard let length = response.headers["content-length"].flatMap(Int64.init) else {
            throw S3Error.malformedResponse(operation: request.operation, detail: "no Content-Length")
        }
        return length
    }

    /// Deletes the object (a missing one counts as deleted), unless `deadline` has passed once
    /// this transfer holds its slot and thread: then nothing is sent. The wait for a slot has
    /// no bound of its own (slow readers may hold every slot), so the deadline is checked after it.
    public func deleteObject(_ key: String, before deadline: ContinuousClock.Instant) async throws -> S3DeleteResult {
        let request = S3Request(operation: "DELETE \(key)", method: "DELETE", key: key)
        return try await http.onTransferThread { cancellation in
            guard ContinuousClock.now < deadline else { return .notSent }
            var attemptInDoubt = false
            let response = try execute(request, cancellation: cancellation, inDoubt: { attemptInDoubt = true })
            guard response.isSuccess || isMissingObject(response) else { throw refusal(request, response) }
            return attemptInDoubt ? .deletedAfterAnAttemptInDoubt : .deleted
        }
    }

    /// The bytes of `range` of the object under `key`, in chunks of `chunkSize` (the last may be
    /// shorter), fetched by one streamed GET that resumes where it broke off after a failure.
    public func object(_ key: String, range: Range<Int64>, chunkSize: Int) -> S3ObjectStream {
        S3ObjectStream(client: self, key: key, range: range, chunkSize: chunkSize)
    }

    /// One page of ListObjectsV2 under `prefix`, in key order, starting after `startAfter` or
    /// at `continuationToken`.
    public func listObjects(
        prefix: String, startAfter: String? = nil, continuationToken: String? = nil, maxKeys: Int = 1000
    ) async throws -> S3ObjectListing {
        var query = [(name: "list-type", value: "2"), (name: "prefix", value: prefix), (name: "max-keys", value: String(maxKeys))]
        if let startAfter { query.append((name: "start-after", value: startAfter)) }
        if let continuationToken { query.append((name: "continuation-token", value: continuationToken)) }
        let request = S3Request(operation: "LIST \(prefix)", method: "GET", key: nil, query: query)
        let response = try await send(request)
        guard let document = S3XMLElement.parse(response.body), let listing = S3ObjectListing(document) else {
            throw S3Error.malformedResponse(operation: request.operation, detail: "not a ListBucketResult")
        }
        return listing
    }

    /// Sends `request` (with retries) on a transfer thread and returns the successful response;
    /// any other final answer becomes ``S3Error/refused``.
    private func send(_ request: S3Request) async throws -> HTTPResponse {
        try await http.onTransferThread { cancellation in
            let response = try execute(request, cancellation: cancellation)
            guard response.isSuccess else { throw refusal(request, response) }
            return response
        }
    }

    /// Sends `request` until it gets an answer retrying cannot change, or runs out of attempts.
    /// An attempt after which `madeProgress` says true does not count against the limit: a long
    /// download that breaks now and then is not failing. `resend` makes each attempt's request
    /// from the first (a download asks for the bytes it still lacks); what it throws ends the
    /// retries (a download that lacks none). `inDoubt` hears of each failed attempt whose fate
    /// is unknown, which S3 (or a gateway in front of it) may still carry out: one that got no
    /// answer after its request may have gone out (timed out, its connection dropped), or a
    /// server-side error (5xx: S3 documents a 500 as "may or may not have been carried out",
    /// and a gateway's 502 or 504 may come for a request it still delivers). S3's own throttling
    /// (503 SlowDown) refused the request and is not in doubt.
    func execute(
        _ request: S3Request, cancellation: TransferCancellation,
        sink: ((UnsafeRawBufferPointer) -> Bool)? = nil, madeProgress: () -> Bool = { false },
        resend: (S3Request) throws -> S3Request = { $0 }, inDoubt: () -> Void = {}
    ) throws -> HTTPResponse {
        var failures = 0
        var lastFailure = ""
        var lastAnswer: String?
        while true {
            let attempt = try resend(request).signed(for: endpoint, by: signer, at: Date())
            let started = ContinuousClock.now
            do {
                let response = try http.send(attempt, cancellation: cancellation, sink: sink)
                SluiceMetrics.s3Attempt(
                    operation: request.metricName, status: response.status, duration: .now - started)
                let code = response.isSuccess ? "" : errorCode(of: response)
                guard !response.isSuccess, S3RetryPolicy.isRetryable(status: response.status, code: code) else {
                    return response
                }
                lastFailure = "HTTP \(response.status) \(code)"
                lastAnswer = lastFailure
                if response.status >= 500, !S3RetryPolicy.isThrottling(code: code) { inDoubt() }
            } catch .cancelled {
                throw S3Error.cancelled
            } catch {
                SluiceMetrics.s3Attempt(operation: request.metricName, status: nil, duration: .now - started)
                lastFailure = error.description
                lastAnswer = nil
                if error.requestMayHaveArrived { inDoubt() }
            }
            if !madeProgress() { failures += 1 }
            guard failures < retryPolicy.attempts else {
                throw S3Error.unavailable(
                    operation: request.operation, attempts: failures, lastFailure: lastFailure, lastAnswer: lastAnswer)
            }
            SluiceMetrics.s3Retry(operation: request.metricName)
            try wait(retryPolicy.delay(after: failures), cancellation: cancellation)
        }
    }

    /// Sleeps on the transfer thread in short steps, so that a cancellation ends the wait.
    private func wait(_ delay: Duration, cancellation: TransferCancellation) throws {
        let deadline = ContinuousClock.now + delay
        while ContinuousClock.now < deadline {
            if cancellation.isCancelled { throw S3Error.cancelled }
            Thread.sleep(forTimeInterval: min(deadline - ContinuousClock.now, .milliseconds(50)).inSeconds)
        }
    }

    /// The error a final non-success response (one ``execute(_:cancellation:sink:madeProgress:resend:)``
    /// did not retry) stands for.
    func refusal(_ request: S3Request, _ response: HTTPResponse) -> S3Error {
        let message = S3XMLElement.parse(response.body)?.value("Message") ?? ""
        return .refused(operation: request.operation, status: response.status, code: errorCode(of: response), message: message)
    }

    /// Whether a response says the object is not there. A 404 naming `NoSuchBucket` says the
    /// bucket is gone, which no object's absence explains: that is a refusal for the operator,
    /// not a blob to count as lost. (HEAD's 404 has no body to tell them apart.)
    func isMissingObject(_ response: HTTPResponse) -> Bool {
        response.status == 404 && errorCode(of: response) != "NoSuchBucket"
    }

    /// The S3 error code of a response: from its error document, or (HEAD has no body) a name
    /// for its status.
    private func errorCode(of response: HTTPResponse) -> String {
        if let code = S3XMLElement.parse(response.body)?.value("Code"), !code.isEmpty { return code }
        switch response.status {
        case 301: return "PermanentRedirect"
        case 400: return "BadRequest"
        case 403: return "AccessDenied"
        case 404: return "NotFound"
        case 503: return "SlowDown"
        default: return "HTTP\(response.status)"
        }
    }
}
