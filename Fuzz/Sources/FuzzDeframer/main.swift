// Fuzzes gRPC message reassembly and request decoding.
//
// Input: one option byte (bit 0: the call declared gzip; bits 1-7: how the body is cut into
// pieces), then the body. The body is deframed twice, whole and in pieces; both must give the
// same messages and the same error. Every message is decoded as each storage request type,
// and whatever decodes must re-encode to a message that decodes equal.
import FuzzSupport
import SluiceProto
import SluiceRPC
import SwiftProtobuf

let maxMessageSize = 64 * 1024

let requestTypes: [any SwiftProtobuf.Message.Type] = [
    Sluice_V1_CreateSessionRequest.self, Sluice_V1_GetSessionRequest.self, Sluice_V1_ListSessionsRequest.self,
    Sluice_V1_AbortSessionRequest.self, Sluice_V1_CommitSessionRequest.self, Sluice_V1_UploadPartitionRequest.self,
    Sluice_V1_GetPartitionInfoRequest.self, Sluice_V1_ReadPartitionRequest.self, Sluice_V1_GetObjectRequest.self,
    Sluice_V1_ReadObjectRequest.self, Sluice_V1_ListObjectsRequest.self, Sluice_V1_ListObjectVersionsRequest.self,
    Sluice_V1_DeleteObjectRequest.self, Sluice_V1_RestoreObjectVersionRequest.self,
]

/// The messages in `pieces`, and the status code the deframer failed with, if it did.
func deframe(_ pieces: [[UInt8]], gzip: Bool) -> (messages: [[UInt8]], failure: StatusCode?) {
    var deframer = MessageDeframer(maxMessageSize: maxMessageSize, decompressor: gzip ? .gzip : nil)
    var messages: [[UInt8]] = []
    do {
        for piece in pieces {
            deframer.append(piece)
            while let message = try deframer.next() {
                precondition(message.count <= maxMessageSize, "a message passed the size limit")
                messages.append(message)
            }
        }
        try deframer.finish()
        precondition(deframer.bufferedBytes == 0)
    } catch {
        return (messages, error.code)
    }
    return (messages, nil)
}

func roundTrip(_ bytes: [UInt8], as type: any SwiftProtobuf.Message.Type) {
    guard let message = try? type.init(serializedBytes: bytes) else { return }
    guard let encoded: [UInt8] = try? message.serializedBytes() else {
        preconditionFailure("\(type) decoded but does not encode")
    }
    guard let again = try? type.init(serializedBytes: encoded) else {
        preconditionFailure("\(type) re-encoded to bytes that do not decode")
    }
    precondition(message.isEqualTo(message: again), "\(type) changed in a round trip")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDeframer(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: start, count: count))
    let gzip = input[0] & 1 == 1
    var seed = UInt64(input[0] >> 1) &+ 1
    let body = Array(input[1...])

    var pieces: [[UInt8]] = []
    var offset = 0
    while offset < body.count {
        seed = seed &* 6364136223846793005 &+ 1442695040888963407
        let length = min(body.count - offset, Int(seed >> 58) + 1)
        pieces.append(Array(body[offset..<(offset + length)]))
        offset += length
    }
    let whole = deframe([body], gzip: gzip)
    let split = deframe(pieces, gzip: gzip)
    precondition(whole.messages == split.messages, "cutting the body differently changed the messages")
    precondition(whole.failure == split.failure, "cutting the body differently changed the outcome")

    for message in whole.messages {
        for type in requestTypes { roundTrip(message, as: type) }
    }
    return 0
}

runFuzzer(fuzzDeframer)
