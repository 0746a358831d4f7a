import SluiceMetrics
import Synchronization

/// Runs the gRPC calls a server transport receives: checks the request's gRPC fields, finds the
/// handler, enforces the deadline and the message size limit, and always ends the stream
/// with exactly one status. Every call, served or refused, is counted here (metrics) and
/// summarized here (the access log): the one place for all handlers.
public struct CallDispatcher: Sendable {
    /// What is known about a call once it has ended, for logs and metrics.
    public struct CallSummary: Sendable {
        public var path: String
        public var peer: PeerIdentity?
        public var remoteAddress: String?
        public var code: StatusCode
        public var message: String
        public var duration: Duration
        /// The id the client received in `sluice-request-id`; nil for a call refused before it started.
        public var requestID: String?
        /// The concealed cause of an internal failure (never sent to the client), for the log.
        public var cause: String?
        /// Request body bytes received (gRPC frames, length prefixes included).
        public var receivedBytes: Int
        /// Response body bytes sent.
        public var sentBytes: Int
    }

    public let router: Router
    /// The largest request message accepted, in bytes (after decompression).
    public let maxReceiveMessageSize: Int
    /// Wraps every call's handler: may refuse the call, meter its bytes and map its failures.
    public let interceptor: (any CallInterceptor)?
    private let onCallEnded: @Sendable (CallSummary) -> Void

    public init(
        router: Router,
        maxReceiveMessageSize: Int = 4 * 1024 * 1024,
        interceptor: (any CallInterceptor)? = nil,
        onCallEnded: @escaping @Sendable (CallSummary) -> Void = { _ in }
    ) {
        self.router = router
        self.maxReceiveMessageSize = maxReceiveMessageSize
        self.interceptor = interceptor
        self.onCallEnded = onCallEnded
    }

    /// Runs one call to completion. The transport runs this in a task of its own and
    /// cancels that task when the client resets the stream or the connection is lost.
    public func handle(_ head: ServerRequestHead, stream: some ServerStream) async {
        let started = ContinuousClock.now
        let path = head.path
        let counting = CountingServerStream(stream)
        let ending = await run(head, stream: counting)
        let duration = ContinuousClock.now - started
        let (service, method) = metricLabels(path: path)
        SluiceMetrics.callEnded(
            service: service, method: method, code: ending.code.description, duration: duration,
            receivedBytes: counting.receivedBytes, sentBytes: counting.sentBytes)
        onCallEnded(CallSummary(
            path: path, peer: head.peer, remoteAddress: head.remoteAddress, code: ending.code,
            message: StatusFields.bounded(ending.message), duration: duration, requestID: ending.requestID,
            cause: ending.cause, receivedBytes: counting.receivedBytes, sentBytes: counting.sentBytes))
    }

    /// The service and method labels of a call: a served method's own names, else one shared
    /// value, so that paths clients invent never become label values.
    private func metricLabels(path: String) -> (service: String, method: String) {
        guard let method = MethodDescriptor(path: path), router.handler(for: method) != nil else {
            return (SluiceMetrics.unknownMethodLabel, SluiceMetrics.unknownMethodLabel)
        }
        return (method.service, method.method)
    }

    /// How a call ended, for its summary.
    private struct Ending {
        var code: StatusCode
        var message: String
        var requestID: String? = nil
        var cause: String? = nil
    }

    private func run(_ head: ServerRequestHead, stream: some ServerStream) async -> Ending {
        let fields = head.fields
        guard let method = MethodDescriptor(path: head.path), let handler = router.handler(for: method) else {
            return await reject(stream, .unimplemented, unknownMethodMessage(head.path))
        }
        let compression: MessageCompression?
        do {
            compression = try MessageCompression.forEncoding(fields.first(named: "grpc-encoding"))
        } catch {
            return await reject(stream, error.code, error.message, acceptEncoding: true)
        }
        var deadline: ContinuousClock.Instant?
        if let timeout = fields.first(named: "grpc-timeout") {
            guard let duration = GRPCTimeout.parse(timeout) else {
                return await reject(stream, .internal, "malformed grpc-timeout '\(timeout)'")
            }
            deadline = .now + duration
        }

        let context = ServerContext(
            method: method, requestMetadata: Metadata(headerFields: fields), peer: head.peer,
            remoteAddress: head.remoteAddress, deadline: deadline)
        context.addInitialMetadata([RequestID.headerName: .string(context.requestID)])
        let sender = ResponseSender(stream: stream, context: context, compression: nil)
        let interceptor = interceptor
        let maxReceiveMessageSize = maxReceiveMessageSize
        // Set by the interceptor (inside the call, so that its refusal ends the call like a handler's).
        let meterBox = MeterBox()
        let runHandler: @Sendable ((any CallByteMeter)?) async throws -> Void = { meter in
            if let meter {
                meterBox.meter = meter
                sender.attach(meter)
            }
            let reader = RequestReader(
                stream: stream,
                deframer: MessageDeframer(maxMessageSize: maxReceiveMessageSize, decompressor: compression),
                holder: head.peer?.description ?? "", meter: meter)
            try await handler(reader, sender, context)
        }

        var ending = await outcome(context) {
            try await withDeadline(deadline, onExpiry: {
                await sender.finish(.deadlineExceeded, message: "deadline exceeded")
            }, operation: {
                if let interceptor {
                    try await interceptor.intercept(context, next: runHandler)
                } else {
                    try await runHandler(nil)
                }
            })
        }
        if Task.isCancelled, ending.code != .cancelled {
            // The stream was reset or its connection lost before the answer ended: the client got
            // no status at all. However the handler ended (it returned, as a watch does once
            // cancelled; or its pending read failed with the connection), the call's log line and
            // metrics say what happened to the call, not what the handler last saw. An internal
            // cause stays in the log.
            ending.code = .cancelled
            ending.message = "the stream was reset or its connection lost before the call ended"
        }
        if let sent = await sender.finish(ending.code, message: ending.message) {
            (ending.code, ending.message) = sent
        }
        meterBox.meter?.finished()
        ending.requestID = context.requestID
        return ending
    }

    /// Maps how a handler ended to the status the client receives. The one place where internal
    /// failures are concealed: their cause goes to the call's log line (with the request id), the
    /// client gets a general message naming the request id.
    private func outcome(_ context: ServerContext, _ body: () async throws -> Void) async -> Ending {
        do {
            try await body()
            return Ending(code: .ok, message: "")
        } catch let error as RPCError {
            context.addTrailingMetadata(error.trailers)
            return Ending(code: error.code, message: error.message)
        } catch let error as ConcealedError {
            context.addTrailingMetadata(error.trailers)
            return Ending(
                code: error.code, message: "\(error.publicMessage); request id \(context.requestID)",
                cause: error.cause)
        } catch is CancellationError {
            return Ending(code: .cancelled, message: "the call was cancelled")
        } catch {
            return Ending(
                code: .unknown, message: "internal error; request id \(context.requestID)",
                cause: String(describing: error))
        }
    }

    /// Answers a request that cannot start with one HEADERS frame (trailers-only).
    private func reject(
        _ stream: some ServerStream, _ code: StatusCode, _ message: String, acceptEncoding: Bool = false
    ) async -> Ending {
        let extra = acceptEncoding
            ? [HeaderField("grpc-accept-encoding", MessageCompression.acceptedNames.joined(separator: ","))] : []
        try? await stream.sendHeaders(extra + StatusFields.status(code, message), endStream: true)
        return Ending(code: code, message: message)
    }

    private func unknownMethodMessage(_ path: String) -> String {
        guard let method = MethodDescriptor(path: path) else { return "malformed method path '\(path)'" }
        guard router.services.contains(method.service) else { return "unknown service \(method.service)" }
        return "unknown method \(method.method) for service \(method.service)"
    }
}

/// The meter of a call, carried out of the operation the deadline runs.
private final class MeterBox: Sendable {
    private let slot = Mutex<(any CallByteMeter)?>(nil)

    var meter: (any CallByteMeter)? {
        get { slot.withLock { $0 } }
        set { slot.withLock { $0 = newValue } }
    }
}
