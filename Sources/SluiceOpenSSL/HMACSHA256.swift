import COpenSSL

/// HMAC-SHA-256 (RFC 2104) through OpenSSL's one-shot `HMAC()`, which OpenSSL 3 keeps
/// undeprecated while it retires the `HMAC_CTX` functions.
///
/// Request signing (AWS Signature Version 4) needs a handful of small MACs per request,
/// so one call per MAC is all the interface there is.
public enum HMACSHA256 {
    /// The 32-byte authentication code of `message` under `key`.
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        // An empty Swift array may hand out a nil base address; OpenSSL wants a real pointer
        // even for zero bytes, so empty inputs borrow a one-byte buffer and pass length 0.
        let filler: [UInt8] = [0]
        let keyBytes = key.isEmpty ? filler : key
        let messageBytes = message.isEmpty ? filler : message
        let produced = keyBytes.withUnsafeBytes { keyBuffer in
            messageBytes.withUnsafeBufferPointer { messageBuffer in
                code.withUnsafeMutableBufferPointer { codeBuffer in
                    HMAC(
                        EVP_sha256(), keyBuffer.baseAddress, Int32(key.count),
                        messageBuffer.baseAddress, message.count,
                        codeBuffer.baseAddress, &length) != nil
                }
            }
        }
        guard produced, length == 32 else {
            fatalError("OpenSSL cannot compute HMAC-SHA-256: \(OpenSSLError.capture("HMAC"))")
        }
        return code
    }
}
