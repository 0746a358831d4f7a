import SluiceOpenSSL
import SluiceProto
import SluiceRPC

/// The whole-object SHA-256 of a version as the server computes it from the stored bytes,
/// for a transfer that hashed each byte once (every partition against its SHA-256, the
/// partition list against the composite) and so has no whole-file hash of its own.
///
/// A version committed before its whole hash was known (partitions that arrived out of
/// order) is `pending` until the server's verifier has read it, which it starts at the
/// commit; this waits for that, polling GetObject, for a bounded time. The caller hashes the
/// bytes itself when the wait runs out (nil), so no summary carries a hash nobody computed.
struct ServerWholeHash: Sendable {
    let objects: Sluice_V1_ObjectServiceClient
    let owner: String
    let callTimeout: Duration

    /// The longest wait: ten seconds, and a second more for every 100 MB (the verifier
    /// reads the object once, at the disk's pace).
    static func patience(forSize size: Int64) -> Duration {
        .seconds(10) + .milliseconds(size / 100_000)
    }

    /// The version's SHA-256 once settled; nil while it is still pending after the wait (or
    /// when GetObject fails). Throws when the server found the bytes are not what their
    /// uploader declared.
    func settled(_ object: Sluice_V1_ObjectInfo) async throws -> [UInt8]? {
        if !object.sha256.isEmpty { return try Self.accepted(object) }
        let deadline = ContinuousClock.now + Self.patience(forSize: object.size)
        var pause = Duration.milliseconds(20)
        var request = Sluice_V1_GetObjectRequest()
        request.name = object.name
        request.version = object.version
        request.owner = owner
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(250))
            guard let now = try? await objects.getObject(request, options: CallOptions(timeout: callTimeout)) else {
                return nil
            }
            if !now.sha256.isEmpty { return try Self.accepted(now) }
        }
        return nil
    }

    private static func accepted(_ object: Sluice_V1_ObjectInfo) throws -> [UInt8] {
        guard object.sha256State != .mismatch else {
            throw IntegrityError(
                "\(object.name) version \(object.version) is not the file its uploader described: its bytes hash to "
                    + "\(Hex.encode(object.sha256)), not the SHA-256 declared at upload")
        }
        return [UInt8](object.sha256)
    }
}
