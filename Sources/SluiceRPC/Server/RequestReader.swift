import SwiftProtobuf

/// Reads whole request messages from a server stream.
///
/// Bytes are pulled from the transport only when a handler asks for its next message, which
/// is what makes a slow handler slow down its sender. A message being received holds a
/// reservation in the process's `RequestMemoryBudget` for its declared size.
/// A call has exactly one reader, used from one task at a time.
// Safe because a call's one reader is used by one task at a time, so its deframer is never shared.
final class RequestReader: @unchecked Sendable {
    private let stream: any ServerStream
    private var deframer: MessageDeframer
    /// The connection's budget (if the stream has one), then the process's: reserved in
    /// that order, so calls never wait on each other in a cycle.
    private let budgets: [RequestMemoryBudget]
    /// Bytes reserved in every budget for the message being received.
    private var reserved = 0
    /// Whose share of the budgets the reservations count against: the client certificate.
    private let holder: String
    private var ended = false
    /// Paces and counts the messages (see `CallInterceptor`).
    private let meter: (any CallByteMeter)?

    init(
        stream: any ServerStream, deframer: MessageDeframer, budget: RequestMemoryBudget = .process,
        holder: String = "", meter: (any CallByteMeter)? = nil
    ) {
        self.stream = stream
        self.deframer = deframer
        self.holder = holder
        self.budgets = [stream.connectionRequestMemory, budget].compactMap { $0 }
        self.meter = meter
    }

    deinit {
        release()
    }

    private func release() {
        for budget in budgets { budget.release(reserved, for: holder) }
        reserved = 0
    }

    /// Raises the reservation in every budget to `needed`, waiting at most the shortest
    /// patience of them all together; on failure nothing more is held.
    private func reserve(upTo needed: Int) async throws {
        let more = needed - reserved
        let deadline = ContinuousClock.now + (budgets.map(\.patience).min() ?? .zero)
        var done: [RequestMemoryBudget] = []
        do {
            for budget in budgets {
                try await budget.reserve(more, for: holder, until: deadline)
                done.append(budget)
            }
        } catch {
            for budget in done { budget.release(more, for: holder) }
            throw error
        }
        reserved = needed
    }

    /// The next message's bytes (a view into the buffer they arrived in); nil after the last one.
    ///
    /// A paced call (see ``CallByteMeter``) pays for each chunk the transport hands it, a step
    /// at a time, returning each step's window as it is paid for, before it takes the next:
    /// paying per message would hold a whole message (up to 4 MiB: minutes at a low rate) back
    /// at once, with nothing moving meanwhile.
    func next() async throws -> ArraySlice<UInt8>? {
        while true {
            if let message = try deframer.nextSlice() {
                release()
                return message
            }
            if ended { return nil }
            if let needed = deframer.pendingMessageLength, needed > reserved {
                try await reserve(upTo: needed)
                deframer.reserveForPendingMessage()
            }
            guard let bytes = try await receive() else {
                ended = true
                try deframer.finish()
                return nil
            }
            deframer.append(bytes)
        }
    }
}

extension RequestReader {
    /// The transport's next bytes, paid for when the call is paced.
    private func receive() async throws -> [UInt8]? {
        guard let meter else { return try await stream.receive() }
        let paced = meter.pacesRequests
        guard let bytes = try await stream.receive(paced: paced) else { return nil }
        let step = paced ? max(1, meter.requestStep ?? bytes.count) : bytes.count
        var paid = 0
        while paid < bytes.count {
            let part = min(step, bytes.count - paid)
            let pause = try await meter.received(part)
            if pause > .zero { try await Task.sleep(for: pause) }
            if paced { try await stream.returnWindow(part) }
            paid += part
        }
        return bytes
    }
}

/// The request messages of a streaming call, decoded, in order.
public struct ServerRequestStream<Message: SwiftProtobuf.Message>: AsyncSequence, Sendable {
    let reader: RequestReader

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: RequestReader

        public mutating func next() async throws -> Message? {
            guard let bytes = try await reader.next() else { return nil }
            return try ProtobufCodec.decodeRequest(bytes, as: Message.self)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }

    /// The request messages undecoded: each one's protobuf encoding, as a slice of the buffer
    /// it arrived in. For a handler that takes a large `bytes` field out itself (see
    /// ``LengthDelimitedField/soleField(_:in:)``), with no copy into a `Data`; it decodes the
    /// rest with ``decode(_:)``. Shares its reader with the decoded sequence.
    public var encodedMessages: EncodedMessages { EncodedMessages(reader: reader) }

    /// Decodes one of ``encodedMessages`` as the sequence itself does: bytes that are not a valid
    /// `Message` end the call INVALID_ARGUMENT (the client's mistake), never INTERNAL.
    public static func decode(_ encoded: ArraySlice<UInt8>) throws(RPCError) -> Message {
        try ProtobufCodec.decodeRequest(encoded, as: Message.self)
    }

    /// See ``encodedMessages``.
    public struct EncodedMessages: AsyncSequence, Sendable {
        let reader: RequestReader

        public struct AsyncIterator: AsyncIteratorProtocol {
            let reader: RequestReader

            public mutating func next() async throws -> ArraySlice<UInt8>? {
                try await reader.next()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
    }
}

extension RequestReader {
    /// Reads the single request of a unary or server-streaming call. Another number of
    /// messages is a request cardinality violation: UNIMPLEMENTED, as gRPC's status codes say.
    func single<Message: SwiftProtobuf.Message>(_ type: Message.Type) async throws -> Message {
        guard let bytes = try await next() else {
            throw RPCError(.unimplemented, "expected one request message, received none")
        }
        guard try await next() == nil else {
            throw RPCError(.unimplemented, "expected one request message, received more")
        }
        return try ProtobufCodec.decodeRequest(bytes, as: Message.self)
    }
}
