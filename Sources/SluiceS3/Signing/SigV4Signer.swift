#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SluiceOpenSSL

/// Signs requests with AWS Signature Version 4 in the `Authorization` header
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv.html).
///
/// The signer holds no mutable state and derives the signing key per request: four HMACs are
/// nothing next to a network round trip, and a shared per-day cache would need a lock.
public struct SigV4Signer: Sendable {
    /// S3 signs the path as sent (no normalization, no second encoding); every other service
    /// normalizes dot segments/double slashes and encodes each segment once more.
    public enum PathCanonicalization: Sendable { case s3, generic }

    public let credentials: AWSCredentials
    public let region: String
    public let service: String
    public let pathCanonicalization: PathCanonicalization

    public init(credentials: AWSCredentials, region: String, service: String, path: PathCanonicalization = .s3) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.pathCanonicalization = path
    }

    /// The headers to add to the request: "x-amz-date", then "x-amz-security-token" when the
    /// credentials have a session token, then "authorization".
    ///
    /// Signs every header of `request` plus those it adds (names lowercased, values trimmed and
    /// inner runs of spaces collapsed, sorted, duplicates joined by ","). Headers of `request`
    /// with those names are left out of the signature, so the caller replaces them rather than
    /// sending both (a retried request can be signed again as it is).
    public func signatureHeaders(for request: SignableRequest, date: Date) -> [(name: String, value: String)] {
        sign(request, date: date).headers
    }

    /// Every step of signing `request`: what ``signatureHeaders(for:date:)`` returns, plus the
    /// canonical request and string to sign behind it. S3 answers a bad signature with its own
    /// canonical request, so a caller can log both side by side.
    public func sign(_ request: SignableRequest, date: Date) -> SigV4Signature {
        let timestamp = AMZDate(date)
        var added = [(name: "x-amz-date", value: timestamp.text)]
        if let sessionToken = credentials.sessionToken {
            added.append((name: "x-amz-security-token", value: sessionToken))
        }
        let replaced = Set(added.map(\.name) + ["authorization"])
        let signedHeaders = request.headers.filter { !replaced.contains($0.name.lowercased()) } + added

        let headers = CanonicalRequest.Headers(signedHeaders)
        let canonicalRequest = CanonicalRequest.text(
            method: request.method,
            uri: CanonicalRequest.uri(path: request.path, canonicalization: pathCanonicalization),
            query: CanonicalRequest.query(request.query),
            headers: headers,
            payloadHash: request.payloadHash)

        let scope = "\(timestamp.day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", timestamp.text, scope, Hex.encode(SHA256.hash(Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let signature = Hex.encode(
            HMACSHA256.authenticationCode(key: signingKey(day: timestamp.day), message: Array(stringToSign.utf8)))
        let authorization =
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(headers.signedNames), Signature=\(signature)"

        return SigV4Signature(
            canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
            headers: added + [(name: "authorization", value: authorization)])
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request"):
    /// the secret never signs anything directly, and the derived key is only good for one
    /// day, region and service.
    private func signingKey(day: String) -> [UInt8] {
        [day, region, service, "aws4_request"].reduce(Array("AWS4\(credentials.secretAccessKey)".utf8)) { key, part in
            HMACSHA256.authenticationCode(key: key, message: Array(part.utf8))
        }
    }
}

/// One signing, step by step.
public struct SigV4Signature: Sendable {
    /// Method, canonical URI, query and headers, signed header names and payload hash.
    public let canonicalRequest: String
    /// "AWS4-HMAC-SHA256", the timestamp, the credential scope and the canonical request's hash.
    public let stringToSign: String
    /// Lower-case hex HMAC of the string to sign under the derived signing key.
    public let signature: String
    /// The headers the request must carry: "x-amz-date", "x-amz-security-token" when there is a
    /// session token, and "authorization".
    public let headers: [(name: String, value: String)]
}

/// The UTC timestamp SigV4 signs, in its basic ISO 8601 form ("20150830T123600Z"), and its day.
///
/// Made with libc's `gmtime_r` and `strftime`, which are thread-safe, rather than a
/// DateFormatter, which is neither cheap nor Sendable.
struct AMZDate {
    let text: String
    var day: String { String(text.prefix(8)) }

    init(_ date: Date) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y%m%dT%H%M%SZ", &parts)
        text = String(decoding: buffer.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
