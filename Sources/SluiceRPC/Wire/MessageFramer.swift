/// Writes gRPC's length-prefixed messages: a compressed flag byte, a 4-byte big-endian
/// length, then the message bytes.
public enum MessageFramer {
    public static let prefixLength = 5

    /// Frames one message. With a compressor the payload is compressed and flagged.
    public static func frame(_ message: [UInt8], compressor: MessageCompression? = nil) throws -> [UInt8] {
        var payload = message
        var flag: UInt8 = 0
        if let compressor {
            payload = try compressor.compress(message)
            flag = 1
        }
        var framed = [UInt8]()
        framed.reserveCapacity(prefixLength + payload.count)
        framed.append(flag)
        let length = UInt32(payload.count)
        framed.append(UInt8(truncatingIfNeeded: length >> 24))
        framed.append(UInt8(truncatingIfNeeded: length >> 16))
        framed.append(UInt8(truncatingIfNeeded: length >> 8))
        framed.append(UInt8(truncatingIfNeeded: length))
        framed.append(contentsOf: payload)
        return framed
    }
}
