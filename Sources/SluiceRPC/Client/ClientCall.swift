import Synchronization

/// One client call on one stream: frames request messages, and turns what the server sends
/// into response messages and a final status.
///
/// A call has one sender and one receiver, each used from one task at a time; the receive
/// state below is touched only by the receiver.
// Safe because the send side and the receive side are each used by one task at a time and share no mutable state.
final class ClientCall: @unchecked Sendable {
    let stream: any ClientStream
    private let compression: MessageCompression?
    private let maxReceiveMessageSize: Int

    private var deframer: MessageDeframer?
    /// Set once the receiver takes pieces: messages are then not reserved whole as their
    /// prefix arrives, since their pieces are handed on where they arrived.
    private var receivesPieces = false
    private var status: (code: StatusCode, message: String)?
    private let metadata = Mutex<(initial: Metadata?, trailing: Metadata)>((nil, [:]))

    init(stream: any ClientStream, options: CallOptions) {
        self.stream = stream
        self.compression = options.compression
        self.maxReceiveMessageSize = options.maxReceiveMessageSize
    }

    var initialMetadata: Metadata { metadata.withLock { $0.initial ?? [:] } }
    var trailingMetadata: Metadata { metadata.withLock { $0.trailing } }

    /// Set when the transport refused bytes, as opposed to the caller's own code failing.
    private(set) var sendFailed = false

    func send(message bytes: [UInt8]) async throws {
        try await send(MessageFramer.frame(bytes, compressor: compression), endStream: false)
    }

    /// Sends one message of `size` bytes that `encode` writes straight behind the prefix,
    /// into the buffer that goes to the transport: no encoded copy to frame afterwards.
    /// With compression the encoding goes through the compressor as usual.
    func send(messageOfSize size: Int, encode: (UnsafeMutableRawBufferPointer) throws -> Void) async throws {
        guard compression == nil else {
            let message = try [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                try encode(UnsafeMutableRawBufferPointer(buffer))
                count = size
            }
            return try await send(message: message)
        }
        let prefix = MessageFramer.prefixLength
        let frame = try [UInt8](unsafeUninitializedCapacity: prefix + size) { buffer, count in
            buffer[0] = 0
            buffer[1] = UInt8(truncatingIfNeeded: size >> 24)
            buffer[2] = UInt8(truncatingIfNeeded: size >> 16)
            buffer[3] = UInt8(truncatingIfNeeded: size >> 8)
            buffer[4] = UInt8(truncatingIfNeeded: size)
            try encode(UnsafeMutableRawBufferPointer(rebasing: UnsafeMutableRawBufferPointer(buffer)[prefix...]))
            count = prefix + size
        }
        try await send(frame, endStream: false)
    }

    func finishSending() async throws {
        try await send([], endStream: true)
    }

    private func send(_ bytes: [UInt8], endStream: Bool) async throws {
        do {
            try await stream.send(bytes, endStream: endStream)
        } catch {
            sendFailed = true
            throw error
        }
    }

    /// The next response message, as a slice of the buffer it arrived in; nil after the
    /// last. Throws the call's status when it is not OK.
    func receive() async throws -> ArraySlice<UInt8>? {
        try await receive { deframer throws(RPCError) in try deframer.nextSlice() }
    }

    /// The next piece of a response message as it arrived (``MessageDeframer/nextPiece()``);
    /// nil after the last. Throws the call's status when it is not OK. A call's receiver
    /// takes either pieces or whole messages.
    func receivePiece() async throws -> MessagePiece? {
        receivesPieces = true
        return try await receive { deframer throws(RPCError) in try deframer.nextPiece() }
    }

    /// What `take` gets out of the deframer next, receiving events until it gets something.
    private func receive<Part>(
        _ take: (inout MessageDeframer) throws(RPCError) -> Part?
    ) async throws -> Part? {
        while true {
            // Messages that arrived before the status are delivered before it.
            if deframer != nil, let part = try take(&deframer!) { return part }
            if let status {
                guard status.code == .ok else {
                    throw RPCError(status.code, status.message, trailers: trailingMetadata)
                }
                // Every whole message is out; bytes left over are a cut-off message.
                try deframer?.finish()
                return nil
            }
            guard let event = try await stream.receive() else {
                status = (.internal, "the server closed the stream without sending a status")
                continue
            }
            try handle(event)
        }
    }

    /// Waits for the response headers and returns their metadata. A call that failed without
    /// them throws its status, also when the failure came as the only header block
    /// (trailers-only): the server never took the call, so it has no response headers.
    func waitForInitialMetadata() async throws -> Metadata {
        while metadata.withLock({ $0.initial }) == nil && status == nil {
            guard let event = try await stream.receive() else {
                status = (.internal, "the server closed the stream without sending a status")
                break
            }
            try handle(event)
        }
        // Real response headers, unlike a trailers-only block, set up the deframer.
        if let status, status.code != .ok, deframer == nil {
            throw RPCError(status.code, status.message, trailers: trailingMetadata)
        }
        return initialMetadata
    }

    /// What the server had said when sending failed.
    enum OutcomeAfterSendFailure {
        /// The server ended the call with this error, which explains the failed send
        /// (for example a request over the server's size limit).
        case failed(RPCError)
        /// The server had already answered in full and closed the stream; the rest of the
        /// request was not needed and the response can be read.
        case answered
        /// The server said nothing that explains it.
        case unexplained
    }

    /// After a send failed, reads what the server sent until its status.
    func outcomeAfterSendFailure() async -> OutcomeAfterSendFailure {
        while status == nil {
            guard let event = try? await stream.receive() else { break }
            if (try? handle(event)) == nil { break }
        }
        guard let status else { return .unexplained }
        guard status.code == .ok else {
            return .failed(RPCError(status.code, status.message, trailers: trailingMetadata))
        }
        return .answered
    }

    private func handle(_ event: ClientStreamEvent) throws {
        switch event {
        case .headers(let fields):
            try handleHeaders(fields)
        case .data(let bytes):
            guard deframer != nil else {
                throw RPCError(.internal, "the server sent data before response headers")
            }
            // In place: a copy of the deframer would copy its whole buffer on every append.
            deframer!.append(bytes)
            // A message whose prefix is in is reserved whole (up to the receive limit), so
            // its later pieces do not grow the buffer by reallocating and copying it.
            if !receivesPieces { deframer!.reserveForPendingMessage() }
        case .trailers(let fields):
            readStatus(fields)
        }
    }

    private func handleHeaders(_ fields: [HeaderField]) throws {
        metadata.withLock { $0.initial = Metadata(headerFields: fields) }
        if fields.first(named: "grpc-status") != nil {
            readStatus(fields)
            return
        }
        deframer = MessageDeframer(
            maxMessageSize: maxReceiveMessageSize,
            decompressor: try MessageCompression.forEncoding(fields.first(named: "grpc-encoding")))
    }

    private func readStatus(_ fields: [HeaderField]) {
        let wireStatus = fields.first(named: "grpc-status") ?? "2"
        let code = StatusCode(wireValue: wireStatus)
        var message = PercentEncoding.decode(fields.first(named: "grpc-message") ?? "")
        // A value that is no status code is UNKNOWN; the message keeps what the server sent.
        if code == .unknown && wireStatus != "2" {
            message = "the server answered grpc-status \(wireStatus.prefix(20))" + (message.isEmpty ? "" : ": \(message)")
        }
        metadata.withLock { $0.trailing = Metadata(headerFields: fields) }
        status = (code, message)
    }
}
