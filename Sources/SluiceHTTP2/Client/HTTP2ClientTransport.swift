import Logging
import NIOCore
import NIOPosix
import SluiceOpenSSL
import SluiceRPC
import Synchronization

/// A gRPC client transport: one HTTP/2 connection (over TLS unless cleartext is asked for)
/// to one server, opened on first use and opened again after it is lost.
public final class HTTP2ClientTransport: ClientTransport {
    public let authority: String
    /// The `:scheme` requests carry: `https`, or `http` for cleartext h2c.
    public let scheme: String
    private let host: String
    private let port: Int
    private let tls: TLSContext?
    private let serverName: String
    let settings: HTTP2Settings
    private let connectionConfiguration: ConnectionConfiguration
    private let group: EventLoopGroup
    private let logger: Logger
    private let current = Mutex<Task<Connected, Error>?>(nil)

    /// An established connection: its channel and its client role.
    // Safe because the role is only read inside tasks submitted to the channel's event loop.
    private struct Connected: @unchecked Sendable {
        let channel: Channel
        let role: ClientConnection

        func isUsable() async -> Bool {
            let (channel, role) = (self.channel, self.role)
            return (try? await channel.eventLoop.submit { channel.isActive && role.unusableReason == nil }.get()) ?? false
        }
    }

    /// - Parameters:
    ///   - tls: nil for cleartext h2c with prior knowledge.
    ///   - serverName: the name the server certificate must carry; defaults to `host`.
    public init(
        host: String, port: Int, tls: TLSContext?, serverName: String? = nil, settings: HTTP2Settings = HTTP2Settings(),
        connection: ConnectionConfiguration = ConnectionConfiguration(),
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "sluice.http2.client")
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.serverName = serverName ?? host
        self.settings = settings
        self.connectionConfiguration = connection
        self.group = group
        self.logger = logger
        self.scheme = tls == nil ? "http" : "https"
        self.authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        FreedMemoryReturner.fixThresholds()
    }

    public func openStream(path: String, fields: [HeaderField]) async throws -> any ClientStream {
        let headers = GRPCRequestHead.make(path: path, authority: authority, scheme: scheme, fields: fields)
        let connected = try await connection()
        let role = connected.role
        let io = try await connected.channel.eventLoop.submit { try role.open(headers: headers) }.get()
        return HTTP2ClientStream(io: io, role: role)
    }

    /// Closes the connection; calls still running fail with UNAVAILABLE.
    public func close() async {
        guard let task = current.withLock({ $0 }) else { return }
        current.withLock { $0 = nil }
        if let connected = try? await task.value { try? await connected.channel.close() }
    }

    private func connection(retrying: Bool = true) async throws -> Connected {
        let task = current.withLock { existing -> Task<Connected, Error> in
            if let existing { return existing }
            let task = Task { try await self.connect() }
            existing = task
            return task
        }
        do {
            let connected = try await task.value
            if await connected.isUsable() { return connected }
            current.withLock { if $0 == task { $0 = nil } }
            guard retrying else { throw RPCError(.unavailable, "the connection to \(authority) closed") }
            return try await connection(retrying: false)
        } catch let error as RPCError {
            current.withLock { if $0 == task { $0 = nil } }
            throw error
        } catch {
            current.withLock { if $0 == task { $0 = nil } }
            throw RPCError(.unavailable, "cannot connect to \(authority): \(Self.describe(connectError: error))")
        }
    }

    /// A person's words for why a TCP connection could not be made.
    private static func describe(connectError error: Error) -> String {
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return describe(connectError: first.error)
        }
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode))
        }
        if let error = error as? ChannelError, case .connectTimeout(let timeout) = error {
            return "no answer within \(timeout.nanoseconds / 1_000_000_000) s"
        }
        return "\(error)"
    }

    private func connect() async throws -> Connected {
        let role = ClientConnection()
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let session = try HTTP2Session(role: .client, settings: settings)
                    let connection = try tls.map { try TLSConnection(context: $0, serverName: serverName) }
                    let handler = HTTP2ConnectionHandler(
                        role: role, session: session, tls: connection, configuration: connectionConfiguration,
                        eventLoop: channel.eventLoop, logger: logger)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port)
            .get()
        let connected = Connected(channel: channel, role: role)
        try await withCheckedThrowingContinuation { continuation in
            channel.eventLoop.execute { role.waitUntilReady(continuation) }
        }
        return connected
    }
}
