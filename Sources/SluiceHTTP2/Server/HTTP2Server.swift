import Logging
import NIOCore
import NIOPosix
import SluiceOpenSSL
import SluiceRPC
import Synchronization

/// A gRPC server transport: accepts TCP connections, runs TLS and HTTP/2 on each, and
/// hands every request stream to a call dispatcher.
public final class HTTP2Server: Sendable {
    public let configuration: HTTP2ServerConfiguration
    /// Counters about the transport's connections and streams.
    public let stats = ServerTransportStats()
    /// Request bytes received and not yet taken by handlers, across every connection.
    public let unreadRequests: UnreadRequestBudget
    private let dispatcher: CallDispatcher
    private let logger: Logger
    private let group: EventLoopGroup
    private let listener = Mutex<Channel?>(nil)
    private let connections = Mutex<[ObjectIdentifier: Connection]>([:])
    private let memoryReturner = Mutex<Task<Void, Never>?>(nil)

    /// A live connection and the role object that can drain it.
    // Safe because the role is only used on its channel's event loop (drain() runs through eventLoop.execute).
    private struct Connection: @unchecked Sendable {
        let channel: Channel
        let role: ServerConnection
    }

    public init(
        configuration: HTTP2ServerConfiguration, dispatcher: CallDispatcher, logger: Logger,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.unreadRequests = UnreadRequestBudget(limit: configuration.unreadRequestBytesLimit)
        self.dispatcher = dispatcher
        self.logger = logger
        self.group = group
    }

    /// Binds and starts accepting; returns the bound address (useful with port 0).
    ///
    /// An accept that fails for want of a resource (descriptors taken by something else in the
    /// process) pauses accepting for a second (``AcceptPause``) instead of spinning a core.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let channel = try await ListenError.naming("--listen", host: configuration.host, port: configuration.port) {
            try await ServerBootstrap(group: group)
                .serverChannelOption(.backlog, value: 256)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { [logger] channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(AcceptPause(listener: "grpc", logger: logger))
                    }
                }
                .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
                .childChannelInitializer { [self] channel in
                    channel.eventLoop.makeCompletedFuture { try self.setUp(channel) }
                }
                .bind(host: configuration.host, port: configuration.port)
                .get()
        }
        listener.withLock { $0 = channel }
        memoryReturner.withLock { $0 = FreedMemoryReturner.start() }
        guard let address = channel.localAddress else { throw HTTP2SessionError("the listener has no address") }
        return address
    }

    private func setUp(_ channel: Channel) throws {
        let key = ObjectIdentifier(channel)
        let role = ServerConnection(
            dispatcher: dispatcher, stats: stats, unreadRequests: unreadRequests, configuration: configuration)
        let admitted = connections.withLock { open -> Bool in
            guard open.count < configuration.maxConnections else { return false }
            open[key] = Connection(channel: channel, role: role)
            return true
        }
        guard admitted else {
            logger.debug("refused a connection past the limit", metadata: [
                "max_connections": "\(configuration.maxConnections)",
                "peer": "\(channel.remoteAddress?.description ?? "?")",
            ])
            stats.connectionRefused()
            channel.close(promise: nil)
            return
        }
        stats.connectionOpened()
        channel.closeFuture.whenComplete { [self] _ in
            connections.withLock { _ = $0.removeValue(forKey: key) }
            stats.connectionClosed()
        }
        let session = try HTTP2Session(role: .server, settings: configuration.http2)
        let tls = try configuration.tls.map { try TLSConnection(context: $0) }
        let handler = HTTP2ConnectionHandler(
            role: role, session: session, tls: tls, configuration: configuration.connection,
            eventLoop: channel.eventLoop, logger: logger)
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// Graceful shutdown: stops accepting, tells every client with GOAWAY, lets running calls
    /// finish for up to `drainTimeout`, then closes whatever is left (cancelling its calls).
    public func shutdown(drainTimeout: Duration) async {
        if let channel = listener.withLock({ $0 }) {
            try? await channel.close()
        }
        memoryReturner.withLock { $0?.cancel() }
        let open = connections.withLock { Array($0.values) }
        for connection in open {
            connection.channel.eventLoop.execute { connection.role.drain() }
        }
        let deadline = ContinuousClock.now + drainTimeout
        while ContinuousClock.now < deadline, !connections.withLock({ $0.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for connection in connections.withLock({ Array($0.values) }) {
            try? await connection.channel.close()
        }
    }
}
