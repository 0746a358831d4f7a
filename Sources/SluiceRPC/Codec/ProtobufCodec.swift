import SwiftProtobuf

/// Turns protobuf messages into message bytes and back.
enum ProtobufCodec {
    static func encode<M: SwiftProtobuf.Message>(_ message: M) throws(RPCError) -> [UInt8] {
        do {
            return try message.serializedBytes()
        } catch {
            throw RPCError(.internal, "failed to encode \(M.protoMessageName): \(error)")
        }
    }

    static func decode<M: SwiftProtobuf.Message>(_ bytes: [UInt8], as type: M.Type) throws(RPCError) -> M {
        do {
            return try M(serializedBytes: bytes)
        } catch {
            throw RPCError(.internal, "failed to decode \(M.protoMessageName): \(error)")
        }
    }
}
