import SluicePostgres

/// An identity too long for the principals table to record: PostgreSQL indexes the name, and an
/// index entry holds at most about 2,700 bytes after compression (so the limit depends on how
/// well the name compresses: dozens of random DNS names exceed it, a long repetitive one may not).
public struct IdentityTooLong: Error, CustomStringConvertible {
    /// The identity's length, UTF-8 bytes.
    public let bytes: Int

    public var description: String {
        "\(bytes) bytes long, too long for this server to record as a principal"
    }

    /// Runs `body`, answering PostgreSQL's refusal to index `identity` as this error.
    static func mapping<T>(_ identity: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError where error.isLimitExceeded {
            throw IdentityTooLong(bytes: identity.utf8.count)
        }
    }
}
