import SwiftProtobuf

/// Makes gRPC calls of the four kinds over a client transport. Generated client stubs
/// wrap it with one typed method per RPC. Calls fail with RPCError, except that an error
/// thrown by the caller's own closures is rethrown as it is (after the stream is reset).
public struct RPCClient: Sendable {
    public let transport: any ClientTransport
    /// Sent as `user-agent` on every call.
    public var userAgent = "sluice-swift/1"

    public init(transport: any ClientTransport) {
        self.transport = transport
    }

    public func unary<Request: Message, Response: Message>(
        _ method: MethodDescriptor, _ request: Request, options: CallOptions = CallOptions()
    ) async throws -> ClientResponse<Response> {
        try await withCall(method, options) { call in
            try await sendAll(call) { writer in try await writer.write(request) }
            let responses = ClientResponseStream<Response>(call: call)
            let message = try await responses.single()
            return ClientResponse(
                message: message, initialMetadata: call.initialMetadata, trailingMetadata: call.trailingMetadata)
        }
    }

    public func clientStreaming<Request: Message, Response: Message>(
        _ method: MethodDescriptor, options: CallOptions = CallOptions(),
        requests: @escaping @Sendable (ClientRequestWriter<Request>) async throws -> Void
    ) async throws -> ClientResponse<Response> {
        try await withCall(method, options) { call in
            try await sendAll(call, requests)
            let responses = ClientResponseStream<Response>(call: call)
            let message = try await responses.single()
            return ClientResponse(
                message: message, initialMetadata: call.initialMetadata, trailingMetadata: call.trailingMetadata)
        }
    }

    public func serverStreaming<Request: Message, Response: Message, Result: Sendable>(
        _ method: MethodDescriptor, _ request: Request, options: CallOptions = CallOptions(),
        responses body: @escaping @Sendable (ClientResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        try await withCall(method, options) { call in
            try await sendAll(call) { writer in try await writer.write(request) }
            return try await body(ClientResponseStream(call: call))
        }
    }

    /// Runs `body` with both sides of the call. The call is reset if `body` returns before
    /// the server has ended it.
    public func bidirectionalStreaming<Request: Message, Response: Message, Result: Sendable>(
        _ method: MethodDescriptor, options: CallOptions = CallOptions(),
        _ body: @escaping @Sendable (ClientRequestWriter<Request>, ClientResponseStream<Response>) async throws -> Result
    ) async throws -> Result {
        try await withCall(method, options) { call in
            try await body(ClientRequestWriter(call: call), ClientResponseStream(call: call))
        }
    }

    /// Sends the request side and ends it. When sending fails because the server already
    /// ended the call, the server's word wins: its error is thrown instead of the send
    /// error, and a complete answer (servers may answer before the request ends, then reset
    /// the stream with NO_ERROR) is read as usual.
    private func sendAll<Request: Message>(
        _ call: ClientCall, _ requests: (ClientRequestWriter<Request>) async throws -> Void
    ) async throws {
        do {
            try await requests(ClientRequestWriter(call: call))
            try await call.finishSending()
        } catch {
            guard call.sendFailed else {
                // The caller's own code failed while producing requests: the server is still
                // waiting for the rest, so reset the stream rather than wait for its answer.
                call.stream.cancel()
                throw error
            }
            switch await call.outcomeAfterSendFailure() {
            case .failed(let status): throw status
            case .answered: return
            case .unexplained: throw error
            }
        }
    }

    private func withCall<Result: Sendable>(
        _ method: MethodDescriptor, _ options: CallOptions,
        _ body: @escaping @Sendable (ClientCall) async throws -> Result
    ) async throws -> Result {
        let deadline = options.timeout.map { ContinuousClock.now + $0 }
        let opened = try await transport.openStream(path: method.path, fields: requestFields(options))
        let watched = options.idleTimeout.map { (stream: ProgressWatchedStream(opened), idle: $0) }
        let stream: any ClientStream = watched?.stream ?? opened
        let call = ClientCall(stream: stream, options: options)
        do {
            let result = try await withDeadline(deadline, onExpiry: { stream.cancel() }) {
                guard let (watchedStream, idle) = watched else { return try await body(call) }
                return try await withExpiry(
                    { watchedStream.lastMoved + idle }, onExpiry: { stream.cancel() },
                    failure: RPCError(
                        .unavailable,
                        "the call stalled: nothing moved for \(idle) (no answer from the server, no request bytes "
                            + "taken); the server or the network stopped it"),
                    operation: { try await body(call) })
            }
            stream.cancel()
            return result
        } catch let error as RPCError {
            stream.cancel()
            throw error
        } catch is CancellationError {
            stream.cancel()
            throw RPCError(.cancelled, "the call was cancelled")
        } catch {
            // Transports report their failures as RPCError; anything else was thrown by the
            // caller's own code (a request producer, a response consumer) and is theirs.
            stream.cancel()
            throw error
        }
    }

    private func requestFields(_ options: CallOptions) -> [HeaderField] {
        var headers = [
            HeaderField("user-agent", userAgent),
            HeaderField("grpc-accept-encoding", MessageCompression.acceptedNames.joined(separator: ",")),
        ]
        if let timeout = options.timeout { headers.append(HeaderField("grpc-timeout", GRPCTimeout.format(timeout))) }
        if let compression = options.compression { headers.append(HeaderField("grpc-encoding", compression.name)) }
        return headers + options.metadata.headerFields
    }
}
