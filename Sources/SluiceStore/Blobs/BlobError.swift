import SluiceOpenSSL

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a blob operation failed, worded so that whoever reads the message knows what to do next.
///
/// The cases the uploader can cause (size and checksum mismatches, bad keys, bad ranges) carry the
/// numbers that disagree; `io` carries the system call, the path and the `errno`, which is what an
/// operator needs to fix a full disk or a permission.
public enum BlobError: Error, Equatable, CustomStringConvertible {
    /// The scope is not 1 to 64 characters of `[a-z0-9-]`.
    case invalidScope(String)
    /// The digest is not 32 bytes (or 64 lowercase hex digits); the text says which.
    case invalidDigest(String)
    /// A writer was asked for a negative size.
    case invalidSize(Int64)
    /// The bytes written do not add up to the size declared for the blob: `received` counts every
    /// byte offered so far, including the write that went past the end.
    case sizeMismatch(expected: Int64, received: Int64)
    /// The bytes hash to `actual`, not to the key's digest `expected`.
    case checksumMismatch(expected: [UInt8], actual: [UInt8])
    /// No blob is stored under the key.
    case notFound(BlobKey)
    /// The range reaches outside the blob.
    case rangeOutOfBounds(requested: Range<Int64>, size: Int64)
    /// The blob ended before the range did although it was long enough when the read began:
    /// something outside the store truncated it.
    case truncated(BlobKey, offset: Int64)
    /// The writer was already finished, aborted, or failed; a failed writer has discarded its bytes.
    case writerClosed(BlobKey)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// A disk store's layout file names a layout this build does not know (a newer one made
    /// the store, or the file was damaged): `content` is what the file holds.
    case unknownLayout(path: String, content: String)
    /// Remote blob storage kept failing in ways that usually pass (throttling, server errors,
    /// timeouts) until the store's retries ran out; the same request later may well succeed.
    /// `summary` is for anyone (no key, no bucket, no library text); `detail` for the log.
    case storageUnavailable(summary: String, detail: String)
    /// Remote blob storage refused in a way retrying will not change (credentials, permissions,
    /// a missing bucket), or answered something unreadable; an operator must look. `summary`
    /// and `detail` as for `storageUnavailable`.
    case storageFailed(summary: String, detail: String)

    public var description: String {
        switch self {
        case .invalidScope(let scope):
            "invalid blob scope \"\(scope)\": use 1 to 64 characters of a-z, 0-9 and -"
        case .invalidDigest(let reason):
            "invalid blob digest: \(reason)"
        case .invalidSize(let size):
            "invalid blob size \(size): a blob has zero or more bytes"
        case .sizeMismatch(let expected, let received) where received > expected:
            "blob size mismatch: \(expected) bytes were declared but at least \(received) were sent; send exactly the declared size"
        case .sizeMismatch(let expected, let received):
            "blob size mismatch: \(expected) bytes were declared but only \(received) were sent; send the missing \(expected - received) bytes"
        case .checksumMismatch(let expected, let actual):
            "blob checksum mismatch: the bytes hash to SHA-256 \(Hex.encode(actual)), not the declared \(Hex.encode(expected)); resend them"
        case .notFound(let key):
            "blob \(key) is not stored"
        case .rangeOutOfBounds(let requested, let size):
            "range \(requested.lowerBound)..<\(requested.upperBound) is outside the blob's \(size) bytes"
        case .truncated(let key, let offset):
            "blob \(key) ended at byte \(offset) while being read; it was truncated on storage and must be restored or re-uploaded"
        case .writerClosed(let key):
            "the writer for blob \(key) is closed (finished, aborted, or failed); start a new one"
        case .io(let operation, let path, let code):
            "\(operation) \(path) failed: \(String(cString: strerror(code))) (errno \(code))"
        case .unknownLayout(let path, let content):
            "\(path) names the blob layout \"\(content)\", which this sluiced does not know; run the sluiced "
                + "that made this blob store (or a newer one), or restore the file"
        case .storageUnavailable(_, let detail):
            "blob storage is unavailable (\(detail)); try again later"
        case .storageFailed(_, let detail):
            "blob storage failed: \(detail)"
        }
    }
}
