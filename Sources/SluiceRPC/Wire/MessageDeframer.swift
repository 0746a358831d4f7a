/// Reassembles gRPC length-prefixed messages from body bytes that arrive in arbitrary pieces.
///
/// Received bytes go into one contiguous buffer read from a moving index, so the work is
/// linear in the bytes received however small the pieces are (a peer sending one-byte
/// DATA frames must not cost quadratic time). Consumed bytes are dropped from the front
/// only once they are at least as many as the bytes kept, which keeps that compaction
/// linear too. A piece that arrives while nothing is buffered becomes the buffer without
/// a copy.
///
/// Copies per message byte are kept to one (into the buffer): once a message's prefix is
/// known, its reader may reserve the whole message up front (`reserveForPendingMessage`),
/// so the buffer does not grow by reallocating; and a message is handed out as a slice of
/// the buffer (`nextSlice`) rather than copied out, whenever the bytes after it are no more
/// than the message itself. A reader that streams a message's payload on may take it in
/// pieces as they arrive instead (`nextPiece`), with no copy at all where a piece fills the
/// rest of what arrived. Those few bytes move to a fresh buffer instead, so the slice
/// owns the old one and appending never copies a buffer a slice still shares (and an idle
/// stream holds no buffer at all). Either way a message costs work in proportion to its own
/// size, which keeps the whole linear.
public struct MessageDeframer: Sendable {
    /// The largest message (after decompression) accepted; larger ones fail the call with
    /// RESOURCE_EXHAUSTED before their bytes are buffered.
    public let maxMessageSize: Int
    /// How compressed messages are decoded; nil when the peer declared no grpc-encoding.
    public let decompressor: MessageCompression?

    private var storage: [UInt8] = []
    private var readIndex = 0
    /// The message being handed out in pieces (``nextPiece()``), whose prefix is consumed:
    /// its payload length and how much of it has been handed out.
    private var pieced: (length: Int, taken: Int)?

    public init(maxMessageSize: Int, decompressor: MessageCompression? = nil) {
        self.maxMessageSize = maxMessageSize
        self.decompressor = decompressor
    }

    /// Bytes received but not yet returned as messages.
    public var bufferedBytes: Int { storage.count - readIndex }

    /// The size (prefix included) of the message whose prefix has arrived but whose body is
    /// still incomplete; nil when no message is partly buffered past its prefix.
    public var pendingMessageLength: Int? {
        guard pieced == nil, bufferedBytes >= MessageFramer.prefixLength else { return nil }
        let total = MessageFramer.prefixLength + declaredLength
        return bufferedBytes < total ? total : nil
    }

    /// The payload length in the prefix at the read index (which must be buffered).
    private var declaredLength: Int {
        Int(storage[readIndex + 1]) << 24 | Int(storage[readIndex + 2]) << 16
            | Int(storage[readIndex + 3]) << 8 | Int(storage[readIndex + 4])
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

    /// Makes room for the whole pending message (see `pendingMessageLength`) so its
    /// remaining pieces are appended without the buffer reallocating and copying as it
    /// grows. Called by a reader that has already accounted for that much memory; a
    /// message over `maxMessageSize` is never reserved for.
    public mutating func reserveForPendingMessage() {
        guard let total = pendingMessageLength, total - MessageFramer.prefixLength <= maxMessageSize else { return }
        if readIndex > 0 {
            storage.removeSubrange(0..<readIndex)
            readIndex = 0
        }
        storage.reserveCapacity(total)
    }

    /// The next piece of the current message's payload: whatever of it is buffered, as a
    /// slice of the buffer it arrived in where that costs no copy (see `take(_:)`), or nil
    /// when more bytes are needed. A compressed message waits until it is whole and comes as
    /// one piece. Not to be mixed with `next()` or `nextSlice()` within one message, nor with
    /// `reserveForPendingMessage()`: a reader takes either pieces or whole messages.
    public mutating func nextPiece() throws(RPCError) -> MessagePiece? {
        if pieced == nil {
            guard bufferedBytes >= MessageFramer.prefixLength else { return nil }
            let length = try checkedPrefix()
            if storage[readIndex] == 1 {
                guard let message = try nextSlice() else { return nil }
                return MessagePiece(messageLength: message.count, offset: 0, bytes: message)
            }
            readIndex += MessageFramer.prefixLength
            guard length > 0 else { return MessagePiece(messageLength: 0, offset: 0, bytes: []) }
            pieced = (length, 0)
        }
        let (length, taken) = pieced!
        let count = min(bufferedBytes, length - taken)
        guard count > 0 else { return nil }
        let piece = MessagePiece(messageLength: length, offset: taken, bytes: take(count))
        pieced = taken + count == length ? nil : (length, taken + count)
        return piece
    }

    /// The next whole message, or nil when more bytes are needed.
    public mutating func next() throws(RPCError) -> [UInt8]? {
        try nextSlice().map { Array($0) }
    }

    /// The next whole message as a slice of the buffer it arrived in (see the type's
    /// notes), or nil when more bytes are needed.
    public mutating func nextSlice() throws(RPCError) -> ArraySlice<UInt8>? {
        guard bufferedBytes >= MessageFramer.prefixLength else { return nil }
        let flag = storage[readIndex]
        let length = try checkedPrefix()
        guard bufferedBytes >= MessageFramer.prefixLength + length else { return nil }
        readIndex += MessageFramer.prefixLength
        let payload = take(length)
        guard flag == 1 else { return payload }
        guard let decompressor else {
            throw RPCError(.internal, "message is flagged compressed but the call declared no grpc-encoding")
        }
        return try ArraySlice(decompressor.decompress(Array(payload), limit: maxMessageSize))
    }

    /// The payload length the buffered prefix at the read index declares, once its flag and
    /// length are checked.
    private func checkedPrefix() throws(RPCError) -> Int {
        let flag = storage[readIndex]
        let length = declaredLength
        guard flag <= 1 else {
            throw RPCError(.internal, "invalid message prefix: compressed flag is \(flag), expected 0 or 1")
        }
        guard length <= maxMessageSize else {
            throw RPCError(
                .resourceExhausted,
                "message of \(length) bytes exceeds the limit of \(maxMessageSize) bytes",
                trailers: Metadata.retryRefused)
        }
        return length
    }

    /// The next `count` buffered bytes (which must be buffered): a slice of the buffer when
    /// the bytes after them are no more than they are, those few moved to a fresh buffer;
    /// else a copy, and the buffer stays.
    private mutating func take(_ count: Int) -> ArraySlice<UInt8> {
        let end = readIndex + count
        let rest = storage.count - end
        defer { if rest <= count { readIndex = 0 } else { readIndex = end } }
        guard rest <= count else { return ArraySlice(Array(storage[readIndex..<end])) }
        let bytes = storage[readIndex..<end]
        storage = rest == 0 ? [] : Array(storage[end...])
        return bytes
    }

    /// Checks that the body ended on a message boundary.
    public func finish() throws(RPCError) {
        if let pieced {
            throw RPCError(.internal, "stream ended inside a message: \(pieced.taken) of its \(pieced.length) bytes")
        }
        if bufferedBytes > 0 {
            throw RPCError(.internal, "stream ended inside a message: \(bufferedBytes) trailing bytes")
        }
    }
}
