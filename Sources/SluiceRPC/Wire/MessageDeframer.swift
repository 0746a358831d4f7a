/// Reassembles gRPC length-prefixed messages from body bytes that arrive in arbitrary pieces.
///
/// Received bytes go into one contiguous buffer read from a moving index, so the work is
/// linear in the bytes received however small the pieces are (a peer sending one-byte
/// DATA frames must not cost quadratic time). Consumed bytes are dropped from the front
/// only once they are at least as many as the bytes kept, which keeps that compaction
/// linear too. A piece that arrives while nothing is buffered becomes the buffer without
/// a copy.
public struct MessageDeframer: Sendable {
    /// The largest message (after decompression) accepted; larger ones fail the call with
    /// RESOURCE_EXHAUSTED before their bytes are buffered.
    public let maxMessageSize: Int
    /// How compressed messages are decoded; nil when the peer declared no grpc-encoding.
    public let decompressor: MessageCompression?

    /// Capacity kept between messages; a larger buffer is released once it is empty, so an
    /// idle stream does not hold the memory of its largest message.
    private static let retainedCapacity = 64 * 1024

    private var storage: [UInt8] = []
    private var readIndex = 0

    public init(maxMessageSize: Int, decompressor: MessageCompression? = nil) {
        self.maxMessageSize = maxMessageSize
        self.decompressor = decompressor
    }

    /// Bytes received but not yet returned as messages.
    public var bufferedBytes: Int { storage.count - readIndex }

    /// The size (prefix included) of the message whose prefix has arrived but whose body is
    /// still incomplete; nil when no message is partly buffered past its prefix.
    public var pendingMessageLength: Int? {
        guard bufferedBytes >= MessageFramer.prefixLength else { return nil }
        let length = Int(storage[readIndex + 1]) << 24 | Int(storage[readIndex + 2]) << 16
            | Int(storage[readIndex + 3]) << 8 | Int(storage[readIndex + 4])
        let total = MessageFramer.prefixLength + length
        return bufferedBytes < total ? total : nil
    }

    public mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        if bufferedBytes == 0 {
            storage = bytes
            readIndex = 0
            return
        }
        if readIndex > 0 && readIndex >= bufferedBytes {
            storage.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        storage.append(contentsOf: bytes)
    }

    /// The next whole message, or nil when more bytes are needed.
    public mutating func next() throws(RPCError) -> [UInt8]? {
        guard bufferedBytes >= MessageFramer.prefixLength else { return nil }
        let flag = storage[readIndex]
        let length = Int(storage[readIndex + 1]) << 24 | Int(storage[readIndex + 2]) << 16
            | Int(storage[readIndex + 3]) << 8 | Int(storage[readIndex + 4])
        guard flag <= 1 else {
            throw RPCError(.internal, "invalid message prefix: compressed flag is \(flag), expected 0 or 1")
        }
        guard length <= maxMessageSize else {
            throw RPCError(
                .resourceExhausted,
                "message of \(length) bytes exceeds the limit of \(maxMessageSize) bytes")
        }
        guard bufferedBytes >= MessageFramer.prefixLength + length else { return nil }
        let start = readIndex + MessageFramer.prefixLength
        let payload = Array(storage[start..<(start + length)])
        readIndex = start + length
        if readIndex == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= Self.retainedCapacity)
            readIndex = 0
        }
        guard flag == 1 else { return payload }
        guard let decompressor else {
            throw RPCError(.internal, "message is flagged compressed but the call declared no grpc-encoding")
        }
        return try decompressor.decompress(payload, limit: maxMessageSize)
    }

    /// Checks that the body ended on a message boundary.
    public func finish() throws(RPCError) {
        if bufferedBytes > 0 {
            throw RPCError(.internal, "stream ended inside a message: \(bufferedBytes) trailing bytes")
        }
    }
}
