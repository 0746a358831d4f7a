/// Writes gRPC's length-prefixed messages: a compressed flag byte, a 4-byte big-endian
/// length, then the message bytes.
public enum MessageFramer {
    public static let prefixLength = 5

    /// Frames one message. With a compressor the payload is compressed and flagged.
    public static func frame(_ message: [UInt8], compressor: MessageCompression? = nil) throws -> [UInt8] {
        let (prefix, payload) = try parts(message, compressor: compressor)
        return prefix + payload
    }

    /// One message as its prefix and its payload, apart: a sender that can queue both
    /// need not copy the payload behind the prefix. With a compressor the payload is
    /// compressed and flagged.
    public static func parts(_ message: [UInt8], compressor: MessageCompression? = nil) throws -> (prefix: [UInt8], payload: [UInt8]) {
        guard let compressor else { return (prefix(length: message.count), message) }
        let payload = try compressor.compress(message)
        return (prefix(length: payload.count, compressed: true), payload)
    }

    /// The 5-byte prefix of a message of `length` bytes.
    public static func prefix(length: Int, compressed: Bool = false) -> [UInt8] {
        let length = UInt32(length)
        return [
            compressed ? 1 : 0,
            UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length),
        ]
    }
}
