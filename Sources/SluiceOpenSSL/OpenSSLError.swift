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
        var details: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            details.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return details
    }
}
