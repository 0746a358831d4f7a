import Foundation
import SluiceOpenSSL

/// Page sizes and opaque page tokens. Tokens are base64 of a small cursor; a token that
/// does not decode is INVALID_ARGUMENT rather than silently restarting the listing.
enum Paging {
    static let defaultPageSize = 100

    static func size(_ requested: Int, limit: Int) throws(StorageError) -> Int {
        guard requested >= 0 else { throw .invalidArgument("page_size is \(requested); it must be 0 to \(limit)") }
        guard requested <= limit else { throw .invalidArgument("page_size is \(requested); the limit is \(limit)") }
        return requested == 0 ? min(defaultPageSize, limit) : requested
    }

    static func encode(_ text: String) -> String {
        Data(text.utf8).base64EncodedString()
    }

    static func decode(_ token: String) throws(StorageError) -> String? {
        guard !token.isEmpty else { return nil }
        guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
              !text.utf8.contains(0)
        else {
            throw .invalidArgument("page_token is not one this server issued; pass the next_page_token you received")
        }
        return text
    }

    static func encodeSessionCursor(createdMicros: Int64, id: [UInt8]) -> String {
        encode("\(createdMicros):\(Hex.encode(id))")
    }

    static func decodeSessionCursor(_ token: String) throws(StorageError) -> (createdMicros: Int64, id: [UInt8])? {
        guard let text = try decode(token) else { return nil }
        let parts = text.split(separator: ":")
        guard parts.count == 2, let micros = Int64(parts[0]), let id = Hex.decode(String(parts[1])) else {
            throw .invalidArgument("page_token is not one this server issued; pass the next_page_token you received")
        }
        return (micros, id)
    }
}
