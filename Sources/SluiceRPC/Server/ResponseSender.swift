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

    /// The most a header block of the response may hold, counted as HPACK counts it (name,
    /// value and 32 bytes per field): what common clients accept (gRPC's C core refuses more
    /// than 16 KiB by default), and well under the 64 KiB nghttp2 will send at all.
    static let maxHeaderBlockBytes = 16 * 1024

    /// Ends the call with a status; a second call does nothing. Answers the status the client
    /// is sent, nil for a second call: metadata the handler added that would make the block
    /// too large to send (``maxHeaderBlockBytes``) is left out, and the call then ends INTERNAL
    /// saying so, rather than with a status the client never receives.
    @discardableResult
    func finish(_ code: StatusCode, message: String) async -> (code: StatusCode, message: String)? {
        let previous = phase.withLock { phase -> Phase in
            let previous = phase
            phase = .closed
            return previous
        }
        guard previous != .closed else { return nil }
        // Trailers-only: the response head, the metadata the handler meant for the headers,
        // and the status, in one HEADERS frame.
        let metadata = (previous == .idle ? context.initialMetadata.headerFields : []) + context.trailingMetadata.headerFields
        var (code, message, fields) = (code, message, StatusFields.status(code, message) + metadata)
        if let refusal = Self.oversizeRefusal(fields) {
            (code, message) = (refusal.code, refusal.message)
            fields = StatusFields.status(code, message)
        }
        if previous == .idle {
            try? await stream.sendHeaders(fields, endStream: true)
        } else {
            try? await stream.sendTrailers(fields)
        }
        return (code, message)
    }

    /// The error for a header block over ``maxHeaderBlockBytes``; nil for one within it.
    private static func oversizeRefusal(_ fields: [HeaderField]) -> RPCError? {
        let size = fields.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 32 }
        guard size > maxHeaderBlockBytes else { return nil }
        return RPCError(
            .internal, "the response's metadata (\(size) bytes) is more than the \(maxHeaderBlockBytes) bytes "
                + "a header block may hold")
    }

    /// Sends the response headers unless they went already (they go with the first message
    /// otherwise). Headers too large to send (``maxHeaderBlockBytes``) are not sent: the call
    /// fails INTERNAL, and its status goes out alone.
    func sendHeaders() async throws {
        let headers = try phase.withLock { phase throws(RPCError) -> [HeaderField]? in
            switch phase {
            case .closed:
                throw RPCError(.cancelled, "the call has already ended")
            case .headersSent:
                return nil
            case .idle:
                let headers = responseHeaders()
                if let refusal = Self.oversizeRefusal(headers) { throw refusal }
                phase = .headersSent
                return headers
            }
        }
        if let headers { try await stream.sendHeaders(headers, endStream: false) }
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
