import COpenSSL

/// A failure reported by OpenSSL, with the library's own error queue rendered as text.
public struct OpenSSLError: Error, CustomStringConvertible {
    public let operation: String
    public let details: [String]

    public var description: String {
        details.isEmpty ? operation : "\(operation): \(details.joined(separator: "; "))"
    }

    /// Captures and clears OpenSSL's thread-local error queue.
    static func capture(_ operation: String) -> OpenSSLError {
        OpenSSLError(operation: operation, details: drainErrorQueue())
    }

    static func drainErrorQueue() -> [String] {
        drainErrorCodes().map(text)
    }

    /// The codes of OpenSSL's thread-local error queue, oldest first; the queue is cleared.
    static func drainErrorCodes() -> [UInt] {
        var codes: [UInt] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            codes.append(code)
        }
        return codes
    }

    static func text(_ code: UInt) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What a handshake failure says when the peer answered in something other than TLS (a
    /// plain HTTP server, another service on that port): clients match it to point at the
    /// address rather than at the certificates.
    public static let peerSpeaksNoTLS = "the peer does not speak TLS"

    /// What a handshake failure says when the server's certificate is valid but names another
    /// host or address than the one connected to: clients match it to point at the address.
    public static let serverNameMismatch = "the server's certificate does not name the host or address connected to"

    /// Whether `code` says the peer's bytes do not parse as TLS records.
    static func meansNoTLS(_ code: UInt) -> Bool {
        guard ERR_GET_LIB(code) == ERR_LIB_SSL else { return false }
        let reason = ERR_GET_REASON(code)
        return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG
    }
}
