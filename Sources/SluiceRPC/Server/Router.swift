import SwiftProtobuf

/// A service that can add its methods to a router; generated service protocols conform.
public protocol RPCService: Sendable {
    func register(into router: inout Router)
}

/// Maps `:path` values to handlers, and adapts typed handlers of the four call kinds to the
/// one raw shape the dispatcher runs.
public struct Router: Sendable {
    typealias RawHandler = @Sendable (RequestReader, ResponseSender, ServerContext) async throws -> Void

    private var handlers: [String: RawHandler] = [:]
    private(set) var services: Set<String> = []

    public init() {}

    /// Names of the services with at least one registered method, sorted.
    public var serviceNames: [String] { services.sorted() }

    public mutating func register(_ service: some RPCService) {
        service.register(into: &self)
    }

    public mutating func registerUnary<Request: Message, Response: Message>(
        _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        add(method) { reader, sender, context in
            let request = try await reader.single(Request.self)
            let response = try await handler(request, context)
            try await sender.send(message: ProtobufCodec.encode(response))
        }
    }

    public mutating func registerClientStreaming<Request: Message, Response: Message>(
        _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (ServerRequestStream<Request>, ServerContext) async throws -> Response
    ) {
        add(method) { reader, sender, context in
            let response = try await handler(ServerRequestStream(reader: reader), context)
            try await sender.send(message: ProtobufCodec.encode(response))
        }
    }

    public mutating func registerServerStreaming<Request: Message, Response: Message>(
        _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (Request, ServerResponseWriter<Response>, ServerContext) async throws -> Void
    ) {
        add(method) { reader, sender, context in
            let request = try await reader.single(Request.self)
            try await handler(request, ServerResponseWriter(sender: sender), context)
        }
    }

    public mutating func registerBidirectionalStreaming<Request: Message, Response: Message>(
        _ method: MethodDescriptor,
        _ handler: @escaping @Sendable (
            ServerRequestStream<Request>, ServerResponseWriter<Response>, ServerContext
        ) async throws -> Void
    ) {
        add(method) { reader, sender, context in
            try await handler(ServerRequestStream(reader: reader), ServerResponseWriter(sender: sender), context)
        }
    }

    private mutating func add(_ method: MethodDescriptor, _ handler: @escaping RawHandler) {
        handlers[method.path] = handler
        services.insert(method.service)
    }

    func handler(for method: MethodDescriptor) -> RawHandler? { handlers[method.path] }
}
