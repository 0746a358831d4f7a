import SwiftProtobuf

/// Sends the request messages of a client-streaming or bidirectional call.
public struct ClientRequestWriter<Message: SwiftProtobuf.Message>: Sendable {
    let call: ClientCall

    /// Sends one message, suspending while the server is not taking them.
    public func write(_ message: Message) async throws {
        try await call.send(message: ProtobufCodec.encode(message))
    }

    /// Sends one message that the caller encodes itself: `encode` fills exactly
    /// `encodedSize` bytes, in place in the outgoing frame, with a valid protobuf encoding
    /// of a `Message`. For a message that is mostly one large `bytes` field read from a file,
    /// which then goes from the file into the frame with no copy in between.
    public func write(
        encodedSize: Int, encode: (UnsafeMutableRawBufferPointer) throws -> Void
    ) async throws {
        try await call.send(messageOfSize: encodedSize, encode: encode)
    }

    /// Ends the request side; the server sees the end of its request stream.
    public func finish() async throws {
        try await call.finishSending()
    }
}

/// The response messages of a server-streaming or bidirectional call, in order.
/// Iteration throws the call's status when it is not OK.
public struct ClientResponseStream<Message: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    let call: ClientCall

    /// The metadata of the response headers, waiting for them if needed.
    public func initialMetadata() async throws -> Metadata {
        try await call.waitForInitialMetadata()
    }

    /// The metadata of the trailers; complete once iteration has ended.
    public var trailingMetadata: Metadata { call.trailingMetadata }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let call: ClientCall

        public mutating func next() async throws -> Message? {
            guard let bytes = try await call.receive() else { return nil }
            return try ProtobufCodec.decode(bytes, as: Message.self)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(call: call) }

    /// The response messages undecoded: each one's protobuf encoding, as a slice of the
    /// buffer it arrived in. For a caller that takes a large `bytes` field out itself, with
    /// no copy into a `Data`; it decodes the rest (or all of a message it does not expect)
    /// with `Message(serializedBytes:)`.
    public var encodedMessages: EncodedMessages { EncodedMessages(call: call) }

    /// See ``encodedMessages``.
    public struct EncodedMessages: AsyncSequence, Sendable {
        let call: ClientCall

        public struct AsyncIterator: AsyncIteratorProtocol {
            let call: ClientCall

            public mutating func next() async throws -> ArraySlice<UInt8>? {
                try await call.receive()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(call: call) }
    }

    /// The response messages' payloads in pieces as they arrive (``MessagePiece``), never
    /// assembled: for a caller that streams a large `bytes` field on (to a file, say) and
    /// reads the field's head itself. The memory a call holds is then what arrived, not a
    /// whole message.
    public var messagePieces: MessagePieces { MessagePieces(call: call) }

    /// See ``messagePieces``.
    public struct MessagePieces: AsyncSequence, Sendable {
        let call: ClientCall

        public struct AsyncIterator: AsyncIteratorProtocol {
            let call: ClientCall

            public mutating func next() async throws -> MessagePiece? {
                try await call.receivePiece()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(call: call) }
    }

    /// Reads exactly one message and the end of the stream.
    func single() async throws -> Message {
        var iterator = makeAsyncIterator()
        guard let message = try await iterator.next() else {
            throw RPCError(.internal, "the server ended the call without a response message")
        }
        guard try await iterator.next() == nil else {
            throw RPCError(.internal, "the server sent more than one response message")
        }
        return message
    }
}
