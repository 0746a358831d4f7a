import Foundation
import Logging
import NIOCore
import NIOPosix
import SluiceHTTP2
import SluiceInterop
import SluiceOpenSSL
import SluiceProto
import SluiceRPC
import SluiceServer
import SluiceTestSupport
import Synchronization

/// Logs nothing: TLS failures are expected in several tests.
let quietLogger = Logger(label: "sluice.tests") { _ in SwiftLogNoOpLogHandler() }

/// A real HTTP2Server on loopback serving EchoService and HealthService.
final class TestServer: Sendable {
    struct Options: Sendable {
        var tls = true
        var requireClientCertificate = true
        var http2 = HTTP2Settings()
        var port = 0
        var maxReceiveMessageSize = 4 * 1024 * 1024
        var unreadRequestBytesLimit = HTTP2ServerConfiguration(host: "", port: 0, tls: nil).unreadRequestBytesLimit
        var interceptor: (any CallInterceptor)? = nil
        /// Hears how each call ended, as the access log does.
        var onCallEnded: @Sendable (CallDispatcher.CallSummary) -> Void = { _ in }
    }

    let server: HTTP2Server
    let echo: EchoService
    let health: HealthStatusRegistry
    let port: Int
    let options: Options
    let group: EventLoopGroup

    private init(
        server: HTTP2Server, echo: EchoService, health: HealthStatusRegistry, port: Int, options: Options,
        group: EventLoopGroup
    ) {
        self.server = server
        self.echo = echo
        self.health = health
        self.port = port
        self.options = options
        self.group = group
    }

    /// Starts a server on `group` (by default NIO's shared one); its transports use it too.
    static func start(
        _ options: Options = Options(), group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> TestServer {
        let holder = ServerHolder()
        let window = Int64(options.http2.streamWindowSize)
        let echo = EchoService(transportStats: {
            guard let snapshot = holder.server.withLock({ $0 })?.stats.snapshot else { return TransportStats() }
            return TransportStats(
                maxBufferedStreamBytes: Int64(snapshot.maxBufferedStreamBytes), streamWindowBytes: window,
                activeCalls: Int32(snapshot.activeCalls))
        })
        let health = HealthStatusRegistry()
        health.set(service: Sluice_Interop_V1_EchoService.serviceName, status: .serving)
        var router = Router()
        router.register(echo)
        router.register(HealthService(registry: health))
        let dispatcher = CallDispatcher(
            router: router, maxReceiveMessageSize: options.maxReceiveMessageSize, interceptor: options.interceptor,
            onCallEnded: options.onCallEnded)

        var configuration = HTTP2ServerConfiguration(
            host: "127.0.0.1", port: options.port,
            tls: options.tls
                ? try TLSContext.server(
                    certificateChainPath: DevCertificates.certificate("server"),
                    privateKeyPath: DevCertificates.key("server"), clientCAPath: DevCertificates.certificate("ca"),
                    requireClientCertificate: options.requireClientCertificate)
                : nil)
        configuration.http2 = options.http2
        configuration.unreadRequestBytesLimit = options.unreadRequestBytesLimit
        let server = HTTP2Server(configuration: configuration, dispatcher: dispatcher, logger: quietLogger, group: group)
        holder.server.withLock { $0 = server }
        let address = try await server.start()
        let port = try requirePort(address)
        return TestServer(server: server, echo: echo, health: health, port: port, options: options, group: group)
    }

    /// A client transport to this server, with the given client certificate (nil: none);
    /// through a relay listening on `port` when given.
    func makeTransport(
        identity: String? = "client", trusting ca: String = "ca", serverName: String? = nil,
        settings: HTTP2Settings = HTTP2Settings(), port: Int? = nil
    ) throws -> HTTP2ClientTransport {
        let tls = options.tls
            ? try TLSContext.client(
                trustRootsPath: DevCertificates.certificate(ca), certificateChainPath: identity.map(DevCertificates.certificate),
                privateKeyPath: identity.map(DevCertificates.key))
            : nil
        return HTTP2ClientTransport(
            host: "127.0.0.1", port: port ?? self.port, tls: tls, serverName: serverName, settings: settings, group: group,
            logger: quietLogger)
    }

    func shutdown(drainTimeout: Duration = .zero) async {
        await server.shutdown(drainTimeout: drainTimeout)
    }
}

/// Reads the port of a bound address.
private func requirePort(_ address: SocketAddress) throws -> Int {
    guard let port = address.port else { throw TestFailure("the server's address \(address) has no port") }
    return port
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Lets the echo service's statistics closure reach a server made after it.
final class ServerHolder: Sendable {
    let server = Mutex<HTTP2Server?>(nil)
}

/// Starts a server, runs `body` with it and a client transport, and stops both.
func withServer<Result>(
    _ options: TestServer.Options = TestServer.Options(),
    _ body: (TestServer, HTTP2ClientTransport) async throws -> Result
) async throws -> Result {
    let server = try await TestServer.start(options)
    let transport = try server.makeTransport()
    do {
        let result = try await body(server, transport)
        await transport.close()
        await server.shutdown()
        return result
    } catch {
        await transport.close()
        await server.shutdown()
        throw error
    }
}

/// Waits until `condition` holds, checking every few milliseconds, for at most `timeout`.
func waitUntil(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

typealias EchoRequest = Sluice_Interop_V1_EchoRequest
typealias EchoClient = Sluice_Interop_V1_EchoServiceClient

extension RPCClient {
    var echo: EchoClient { EchoClient(self) }
}

/// Runs a call that must fail, and returns its status.
func expectRPCError(_ call: () async throws -> Void) async throws -> RPCError {
    do {
        try await call()
    } catch let error as RPCError {
        return error
    }
    throw TestFailure("the call succeeded but should have failed")
}

/// Runs `body` with an event loop group of its own, so connections that fail on purpose
/// share no event loop thread (and no OpenSSL thread state) with other tests.
func withPrivateEventLoop<Result>(_ body: (EventLoopGroup) async throws -> Result) async throws -> Result {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        let result = try await body(group)
        try await group.shutdownGracefully()
        return result
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
}
