/// Reassembles gRPC length-prefixed messages from body bytes that arrive in arbitrary pieces.
///
/// Each message is copied once, from the received pieces into its own array; a piece that
/// holds exactly one whole message is handed over without a copy.
public struct MessageDeframer: Sendable {
    /// The largest message (after decompression) accepted; larger ones fail the call with
    /// RESOURCE_EXHAUSTED before their bytes are buffered.
    public let maxMessageSize: Int
    /// How compressed messages are decoded; nil when the peer declared no grpc-encoding.
    public let decompressor: MessageCompression?

    private var pieces: [[UInt8]] = []
    private var offsetInFirst = 0
    private var buffered = 0

    public init(maxMessageSize: Int, decompressor: MessageCompression? = nil) {
        self.maxMessageSize = maxMessageSize
        self.decompressor = decompressor
    }

    /// Bytes received but not yet returned as messages.
    public var bufferedBytes: Int { buffered }

    public mutating func append(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        pieces.append(bytes)
        buffered += bytes.count
    }

    /// The next whole message, or nil when more bytes are needed.
    public mutating func next() throws(RPCError) -> [UInt8]? {
        guard buffered >= MessageFramer.prefixLength else { return nil }
        let prefix = peek(MessageFramer.prefixLength)
        let flag = prefix[0]
        let length = Int(prefix[1]) << 24 | Int(prefix[2]) << 16 | Int(prefix[3]) << 8 | Int(prefix[4])
        guard flag <= 1 else {
            throw RPCError(.internal, "invalid message prefix: compressed flag is \(flag), expected 0 or 1")
        }
        guard length <= maxMessageSize else {
            throw RPCError(
                .resourceExhausted,
                "message of \(length) bytes exceeds the limit of \(maxMessageSize) bytes")
        }
        guard buffered >= MessageFramer.prefixLength + length else { return nil }
        skip(MessageFramer.prefixLength)
        let payload = take(length)
        guard flag == 1 else { return payload }
        guard let decompressor else {
            throw RPCError(.internal, "message is flagged compressed but the call declared no grpc-encoding")
        }
        return try decompressor.decompress(payload, limit: maxMessageSize)
    }

    /// Checks that the body ended on a message boundary.
    public func finish() throws(RPCError) {
        if buffered > 0 {
            throw RPCError(.internal, "stream ended inside a message: \(buffered) trailing bytes")
        }
    }

    private func peek(_ count: Int) -> [UInt8] {
        var result = [UInt8]()
        result.reserveCapacity(count)
        var offset = offsetInFirst
        for piece in pieces {
            for index in offset..<piece.count {
                result.append(piece[index])
                if result.count == count { return result }
            }
            offset = 0
        }
        return result
    }

    private mutating func skip(_ count: Int) {
        var remaining = count
        while remaining > 0 {
            let available = pieces[0].count - offsetInFirst
            if available > remaining {
                offsetInFirst += remaining
                remaining = 0
            } else {
                remaining -= available
                pieces.removeFirst()
                offsetInFirst = 0
            }
        }
        buffered -= count
    }

    private mutating func take(_ count: Int) -> [UInt8] {
        if offsetInFirst == 0, let first = pieces.first, first.count == count {
            pieces.removeFirst()
            buffered -= count
            return first
        }
        var result = [UInt8]()
        result.reserveCapacity(count)
        var remaining = count
        while remaining > 0 {
            let piece = pieces[0]
            let available = piece.count - offsetInFirst
            let used = min(available, remaining)
            result.append(contentsOf: piece[offsetInFirst..<(offsetInFirst + used)])
            remaining -= used
            if used == available {
                pieces.removeFirst()
                offsetInFirst = 0
            } else {
                offsetInFirst += used
            }
        }
        buffered -= count
        return result
    }
}
