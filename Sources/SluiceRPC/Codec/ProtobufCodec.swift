import SwiftProtobuf

/// Turns protobuf messages into message bytes and back, failing with the status a call ends
/// with (INTERNAL, naming the message type).
public enum ProtobufCodec {
    static func encode<M: SwiftProtobuf.Message>(_ message: M) throws(RPCError) -> [UInt8] {
        do {
            return try message.serializedBytes()
        } catch {
            throw RPCError(.internal, "failed to encode \(M.protoMessageName): \(error)")
        }
    }

    static func decode<M: SwiftProtobuf.Message>(_ bytes: [UInt8], as type: M.Type) throws(RPCError) -> M {
        try decode(bytes[...], as: type)
    }

    /// Decodes a message straight from the buffer it arrived in (see `MessageBytes`).
    public static func decode<M: SwiftProtobuf.Message>(_ bytes: ArraySlice<UInt8>, as type: M.Type) throws(RPCError) -> M {
        let message: M
        do {
            message = try M(serializedBytes: MessageBytes(slice: bytes))
        } catch {
            throw RPCError(.internal, "failed to decode \(M.protoMessageName): \(error)")
        }
        if let checked = M.self as? any WireCheckedMessage.Type {
            try checked.checkWire(bytes)
        }
        return message
    }
}

/// A message with a rule about its wire bytes that the decoded value can no longer show
/// (map keys that Swift's String equality merges, say). Checked right after decoding.
public protocol WireCheckedMessage: SwiftProtobuf.Message {
    /// Throws (INVALID_ARGUMENT, normally) when `bytes`, which decoded as this message, break the rule.
    static func checkWire(_ bytes: ArraySlice<UInt8>) throws(RPCError)
}
