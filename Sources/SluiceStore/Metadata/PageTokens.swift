import Foundation
import SluiceOpenSSL
import SluicePostgres

/// Page tokens: opaque, authenticated cursors. A token is base64 of a version byte, an
/// HMAC-SHA-256 and the cursor; the MAC, under a server secret, covers the listing kind,
/// the principal, the request's parameters (prefix and delimiter, object name, open_only)
/// and the cursor. So a token works only for the listing, caller and parameters it was
/// issued for, on any instance sharing the secret; anything else — hand-made, another
/// principal's, another prefix's, truncated — is INVALID_ARGUMENT. The page size is not
/// bound: a client may change it between pages.
public struct PageTokens: Sendable {
    /// Which listing a token continues.
    enum Listing: String {
        case objects, versions, sessions, grants, sharedWithMe, principals
    }

    /// The shortest key accepted, in bytes.
    public static let minimumKeyBytes = 32
    /// Longer tokens are refused before any work (issued ones are far shorter).
    static let maxTokenCharacters = 4096
    private static let formatVersion: UInt8 = 1
    private static let macBytes = 32

    private let key: [UInt8]

    /// Tokens under `key` (at least ``minimumKeyBytes`` bytes of secret).
    public init(key: [UInt8]) {
        self.key = key
    }

    /// Tokens under a fresh random key, which no other process shares (tests, one-off servers).
    public static func random() -> PageTokens {
        PageTokens(key: randomKey())
    }

    static func randomKey() -> [UInt8] {
        RandomBytes.make(minimumKeyBytes)
    }

    /// Tokens under the key stored in the database's `settings` table, made on first use,
    /// so that every instance on one database accepts the others' tokens.
    public static func shared(in database: PostgresPool) async throws -> PageTokens {
        let candidate = randomKey()
        let key = try await database.withConnection { connection -> [UInt8]? in
            _ = try connection.execute("""
                INSERT INTO settings (name, value) VALUES ('page_token_key', $1) ON CONFLICT (name) DO NOTHING
                """, [.bytes(candidate)])
            return try connection.execute("SELECT value FROM settings WHERE name = 'page_token_key'")
                .rows.first?.bytes("value")
        }
        guard let key, key.count >= minimumKeyBytes else {
            throw StorageError.storageFailed("the page token key in the settings table is missing or shorter than 32 bytes")
        }
        return PageTokens(key: key)
    }

    func issue(_ cursor: String, for listing: Listing, principal: Principal, parameters: [String]) -> String {
        let payload = Array(cursor.utf8)
        let mac = authenticationCode(payload, listing: listing, principal: principal, parameters: parameters)
        return Data([Self.formatVersion] + mac + payload).base64EncodedString()
    }

    /// The cursor inside `token`; nil for an empty token (the first page).
    func redeem(_ token: String, for listing: Listing, principal: Principal, parameters: [String])
        throws(StorageError) -> String?
    {
        guard !token.isEmpty else { return nil }
        let refused = StorageError.invalidArgument(
            "page_token is not one this server issued for this listing; pass the next_page_token of the previous "
                + "page with the same parameters, or no token for the first page")
        guard token.utf8.count <= Self.maxTokenCharacters, let data = Data(base64Encoded: token) else { throw refused }
        let bytes = [UInt8](data)
        guard bytes.count >= 1 + Self.macBytes, bytes[0] == Self.formatVersion else { throw refused }
        let mac = Array(bytes[1...Self.macBytes])
        let payload = Array(bytes[(1 + Self.macBytes)...])
        let expected = authenticationCode(payload, listing: listing, principal: principal, parameters: parameters)
        var difference: UInt8 = 0
        for (left, right) in zip(mac, expected) { difference |= left ^ right }
        guard difference == 0, let cursor = String(validating: payload, as: UTF8.self) else { throw refused }
        return cursor
    }

    /// Every field length-prefixed, so no two different inputs run together alike.
    private func authenticationCode(
        _ payload: [UInt8], listing: Listing, principal: Principal, parameters: [String]
    ) -> [UInt8] {
        var message: [UInt8] = []
        func append(_ field: [UInt8]) {
            let count = UInt32(truncatingIfNeeded: field.count)
            message += [UInt8(count >> 24), UInt8((count >> 16) & 0xFF), UInt8((count >> 8) & 0xFF), UInt8(count & 0xFF)]
            message += field
        }
        append(Array("sluice page token".utf8))
        append(Array(listing.rawValue.utf8))
        append(Array(String(principal.id).utf8))
        for parameter in parameters { append(Array(parameter.utf8)) }
        append(payload)
        return HMACSHA256.authenticationCode(key: key, message: message)
    }
}
