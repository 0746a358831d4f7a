import Dispatch
import Foundation
import Logging
import NIOCore
import SluiceHTTP2
import SluiceRPC
import SluiceServer

/// Runs a set of services as a server process: health and reflection beside them, TLS and
/// limits from the options, structured logs, and a graceful drain on SIGTERM or SIGINT (SIGHUP
/// is ignored, see `ReloadSignal`).
public struct ServerRunner {
    public let options: ServerOptions
    public let services: [any RPCService]
    /// The request message limit unless the options set one.
    public let defaultReceiveLimit: Int
    /// What grpc.health.v1 answers from; others (a database monitor) may set statuses in it too.
    public let health: HealthStatusRegistry
    /// How the access log names a call's principal; nil to show the certificate's subject.
    public let principalMapping: PrincipalMapping?
    /// Runs before each metrics scrape, to refresh gauges read from elsewhere (the database).
    public let beforeScrape: @Sendable () async -> Void
    /// Wraps every call's handler (the caller's identity, the limits, status mapping); nil runs handlers bare.
    public let interceptor: (any CallInterceptor)?

    public init(
        options: ServerOptions, services: [any RPCService],
        defaultReceiveLimit: Int = ServerOptions.standardReceiveLimit, health: HealthStatusRegistry = HealthStatusRegistry(),
        principalMapping: PrincipalMapping? = nil, beforeScrape: @escaping @Sendable () async -> Void = {},
        interceptor: (any CallInterceptor)? = nil
    ) {
        self.options = options
        self.services = services
        self.defaultReceiveLimit = defaultReceiveLimit
        self.health = health
        self.principalMapping = principalMapping
        self.beforeScrape = beforeScrape
        self.interceptor = interceptor
    }

    /// The names of the services these handlers serve.
    public static func serviceNames(of services: [any RPCService]) -> [String] {
        var router = Router()
        for service in services { router.register(service) }
        return router.serviceNames
    }

    /// Installs structured logging at the options' level; call once, first thing.
    public static func bootstrapLogging(_ options: ServerOptions) {
        KeyValueLogHandler.bootstrap(level: Logger.Level(rawValue: options.logLevel) ?? .info)
    }

    /// Starts serving; `started` receives the server once it listens (for wiring statistics).
    /// Returns after a signal-triggered shutdown has drained. `draining` runs when the drain
    /// begins (to end calls that would otherwise never finish, such as change watchers).
    ///
    /// `shutdown` is made by the caller as early as it can (a process's first step): a SIGTERM
    /// that arrives while it starts (a supervisor stopping it at once, a test) then drains and
    /// exits 0 as soon as the server is up, rather than killing the process outright.
    public func run(
        name: String, until shutdown: ShutdownSignal = ShutdownSignal(), started: (HTTP2Server) -> Void = { _ in },
        draining: () -> Void = {}
    ) async throws {
        let logger = Logger(label: name)
        let hangup = ReloadSignal.ignore(logging: logger)

        var router = Router()
        for service in services { router.register(service) }
        router.register(HealthService(registry: health))
        router.register(try ReflectionService(serviceNames: router.serviceNames))
        for service in router.serviceNames { health.set(service: service, status: .serving) }

        let callLog = CallLog(logger: logger, accessLog: options.accessLogEnabled, principalMapping: principalMapping)
        let dispatcher = CallDispatcher(
            router: router, maxReceiveMessageSize: options.receiveLimit(default: defaultReceiveLimit), interceptor: interceptor,
            onCallEnded: callLog.record)
        let metrics = try await startMetrics(name: name, logger: logger)
        let configuration = try options.transportConfiguration()
        let server = HTTP2Server(configuration: configuration, dispatcher: dispatcher, logger: logger)
        let bound = try await server.start()
        let host = bound.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? configuration.host
        let address = "\(host):\(bound.port ?? configuration.port)"
        started(server)
        logger.notice("listening", metadata: [
            "address": "\(address)", "tls": "\(configuration.tls != nil)",
            "mutual_tls": "\(options.clientCA != nil)", "require_client_cert": "\(options.requireClientCert)",
        ])
        // The line tests and scripts wait for.
        FileHandle.standardOutput.write(Data("\(name) listening on \(address)\n".utf8))

        let signal = await shutdown.received()
        hangup.cancel()
        logger.notice("draining", metadata: ["signal": "\(signal)", "drain_timeout_s": "\(options.drainTimeout)"])
        health.shutdown()
        draining()
        await server.shutdown(drainTimeout: .seconds(options.drainTimeout))
        await metrics?.close()
        logger.notice("stopped")
    }

    /// Installs the Prometheus backend behind swift-metrics if `--metrics-listen` is given; call
    /// once, first thing after logging (metrics recorded before it are lost).
    public static func bootstrapMetrics(_ options: ServerOptions) {
        if options.metricsListen != nil { _ = MetricsExposition.registry() }
    }

    /// Starts the `--metrics-listen` exposition, if asked for, and announces its address.
    private func startMetrics(name: String, logger: Logger) async throws -> MetricsServer? {
        guard let (host, port) = options.parseMetricsListen() else { return nil }
        let metrics = try await MetricsServer(
            host: host, port: port, registry: MetricsExposition.registry(), beforeScrape: beforeScrape, logger: logger)
        let bound = metrics.address
        let shownHost = bound?.ipAddress.map { $0.contains(":") ? "[\($0)]" : $0 } ?? host
        let address = "\(shownHost):\(bound?.port ?? port)"
        logger.notice("metrics listening", metadata: ["address": "\(address)"])
        // Not "listening on": scripts take the first such line for the gRPC address.
        FileHandle.standardOutput.write(Data("\(name) metrics at http://\(address)\(MetricsServer.path)\n".utf8))
        return metrics
    }
}
