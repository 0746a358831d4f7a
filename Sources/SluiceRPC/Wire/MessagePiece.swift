/// Part of one received gRPC message's payload, handed out as it arrives rather than once
/// the whole message is in (``MessageDeframer/nextPiece()``): a reader that streams a large
/// `bytes` field to a file takes it where the transport put it, never assembled into one
/// buffer. A message's pieces come in order and together hold its payload exactly; a
/// compressed message comes whole, decompressed, as one piece.
public struct MessagePiece: Sendable, Equatable {
    /// The payload length of the message this piece belongs to.
    public let messageLength: Int
    /// Where `bytes` start in that payload.
    public let offset: Int
    public let bytes: ArraySlice<UInt8>

    public init(messageLength: Int, offset: Int, bytes: ArraySlice<UInt8>) {
        self.messageLength = messageLength
        self.offset = offset
        self.bytes = bytes
    }

    /// Whether this is the message's last piece.
    public var endsMessage: Bool { offset + bytes.count == messageLength }
}
