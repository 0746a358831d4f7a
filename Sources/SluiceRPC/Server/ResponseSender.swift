import Synchronization
import SwiftProtobuf

/// Sends a call's response: headers before the first message, then messages, then exactly
/// one status. Whatever ends the call first (the handler, an error, the deadline) sends
/// the status; anything written after that is refused.
final class ResponseSender: Sendable {
    private enum Phase { case idle, headersSent, closed }

    private let stream: any ServerStream
    private let context: ServerContext
    private let compression: MessageCompression?
    private let phase = Mutex(Phase.idle)
    /// Paces and counts the messages (see `CallInterceptor`); set once the call is admitted.
    private let meter = Mutex<(any CallByteMeter)?>(nil)

    init(stream: any ServerStream, context: ServerContext, compression: MessageCompression?) {
        self.stream = stream
        self.context = context
        self.compression = compression
    }

    func attach(_ meter: any CallByteMeter) {
        self.meter.withLock { $0 = meter }
    }

    func send(message bytes: [UInt8]) async throws {
        try await send(head: [], body: bytes)
    }

    /// Sends the message encoded as `head` followed by `body`; uncompressed, `body` goes to the
    /// transport as it is, behind the prefix and `head`.
    ///
    /// A paced call's message goes out in steps (``CallByteMeter/responseStep``), each paid for
    /// just before it is sent: sent whole after the pause of the whole message, a large message
    /// at a low rate would leave the client without a byte for minutes, and a cancelled call
    /// would leave its principal owing for bytes that never went.
    func send(head: [UInt8], body: [UInt8]) async throws {
        let framed: (prefix: [UInt8], payload: [UInt8])
        if compression == nil {
            framed = (MessageFramer.prefix(length: head.count + body.count) + head, body)
        } else {
            framed = try MessageFramer.parts(head.isEmpty ? body : head + body, compressor: compression)
        }
        try await sendHeaders()
        let meter = meter.withLock { $0 }
        let payload = framed.payload
        // Unpaced, the whole payload is one step and goes out as it is, uncopied.
        let step = max(1, meter?.responseStep ?? payload.count)
        var start = 0
        repeat {
            let end = min(start + step, payload.count)
            let prefix = start == 0 ? framed.prefix : []
            let piece = start == 0 && end == payload.count ? payload : Array(payload[start..<end])
            let pause = try await meter?.sending(prefix.count + piece.count) ?? .zero
            if pause > .zero { try await Task.sleep(for: pause) }
            if prefix.isEmpty {
                try await stream.send(piece)
            } else {
                try await stream.send(prefix: prefix, payload: piece)
            }
            start = end
        } while start < payload.count
    }

    /// Waits until the client can take more of the response (see `ServerStream`).
    func waitUntilWritable() async throws {
        guard phase.withLock({ $0 }) != .closed else { throw RPCError(.cancelled, "the call has already ended") }
        try await stream.waitUntilWritable()
    }

    /// Ends the call with a status; a second call does nothing.
    func finish(_ code: StatusCode, message: String) async {
        let previous = phase.withLock { phase -> Phase in
            let previous = phase
            phase = .closed
            return previous
        }
        let trailing = context.trailingMetadata.headerFields
        switch previous {
        case .closed:
            return
        case .idle:
            // Trailers-only: the response head, the metadata the handler meant for the headers,
            // and the status, in one HEADERS frame.
            try? await stream.sendHeaders(
                context.initialMetadata.headerFields + StatusFields.status(code, message) + trailing, endStream: true)
        case .headersSent:
            try? await stream.sendTrailers(StatusFields.status(code, message) + trailing)
        }
    }

    /// Sends the response headers unless they went already (they go with the first message
    /// otherwise).
    func sendHeaders() async throws {
        let previous = phase.withLock { phase -> Phase in
            let previous = phase
            if phase == .idle { phase = .headersSent }
            return previous
        }
        switch previous {
        case .closed:
            throw RPCError(.cancelled, "the call has already ended")
        case .idle:
            try await stream.sendHeaders(responseHeaders(), endStream: false)
        case .headersSent:
            break
        }
    }

    private func responseHeaders() -> [HeaderField] {
        var headers = [HeaderField("grpc-accept-encoding", MessageCompression.acceptedNames.joined(separator: ","))]
        if let compression { headers.append(HeaderField("grpc-encoding", compression.name)) }
        return headers + context.initialMetadata.headerFields
    }
}

/// Writes the response messages of a server-streaming or bidirectional call.
public struct ServerResponseWriter<Message: SwiftProtobuf.Message>: Sendable {
    let sender: ResponseSender

    /// Sends one message, suspending while the client is not taking them. A message is
    /// serialized only once the client's window is open, so a client that stops reading
    /// holds no serialized copies of what it has not taken.
    public func write(_ message: Message) async throws {
        try await sender.waitUntilWritable()
        try await sender.send(message: ProtobufCodec.encode(message))
    }

    /// Sends one message given as its encoding, `head` then `body` (a `bytes` field's bulk,
    /// behind its ``LengthDelimitedField/head(field:length:)``), so that the body is not copied
    /// into a serialized message: it goes to the transport as it is. The caller vouches that
    /// the two make an encoding of `Message`.
    public func write(encodedHead head: [UInt8], body: [UInt8]) async throws {
        try await sender.waitUntilWritable()
        try await sender.send(head: head, body: body)
    }

    /// Sends the response headers now, ahead of any message: a call that may have nothing to
    /// send for long (a watch) tells its client at once that the server took it.
    public func sendHeaders() async throws {
        try await sender.sendHeaders()
    }

    /// Waits until the client can take more. A handler that produces its messages from a
    /// costly source (disk reads) calls this first, so a client that stops reading does not
    /// make it hold a message it cannot send.
    public func waitUntilWritable() async throws {
        try await sender.waitUntilWritable()
    }
}
