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

    /// Decodes an answer straight from the buffer it arrived in (see `MessageBytes`). Not for
    /// requests: bytes a client sent that do not decode are its mistake (``decodeRequest(_:as:)``).
    static func decode<M: SwiftProtobuf.Message>(_ bytes: ArraySlice<UInt8>, as type: M.Type) throws(RPCError) -> M {
        try decode(bytes) { RPCError(.internal, "failed to decode \(M.protoMessageName): \($0)") }
    }

    /// Decodes a request message a client sent. Bytes that are not a valid `M` (a string that
    /// is not UTF-8, a truncated field) are the client's mistake, so the call ends
    /// INVALID_ARGUMENT saying what is wrong, not INTERNAL, which would count against the server.
    static func decodeRequest<M: SwiftProtobuf.Message>(_ bytes: ArraySlice<UInt8>, as type: M.Type) throws(RPCError) -> M {
        try decode(bytes) { RPCError(.invalidArgument, "the request is not a valid \(M.protoMessageName): \(reason($0))") }
    }

    /// Decodes `bytes` and checks their wire rule, if `M` has one; `refusal` words a decoding failure.
    private static func decode<M: SwiftProtobuf.Message>(
        _ bytes: ArraySlice<UInt8>, refusal: (any Error) -> RPCError
    ) throws(RPCError) -> M {
        let message: M
        do {
            message = try M(serializedBytes: MessageBytes(slice: bytes))
        } catch {
            throw refusal(error)
        }
        if let checked = M.self as? any WireCheckedMessage.Type {
            try checked.checkWire(bytes)
        }
        return message
    }

    private static func reason(_ error: any Error) -> String {
        switch error as? BinaryDecodingError {
        case .invalidUTF8?: "a string field holds bytes that are not UTF-8"
        case .truncated?: "it ends in the middle of a field"
        case .messageDepthLimit?: "its messages are nested too deeply"
        default: "its bytes are not a protobuf encoding of it (\(error))"
        }
    }
}

/// A message with a rule about its wire bytes that the decoded value can no longer show
/// (map keys that Swift's String equality merges, say). Checked right after decoding.
public protocol WireCheckedMessage: SwiftProtobuf.Message {
    /// Throws (INVALID_ARGUMENT, normally) when `bytes`, which decoded as this message, break the rule.
    static func checkWire(_ bytes: ArraySlice<UInt8>) throws(RPCError)
}
