import Dispatch
import Foundation
import Logging
import NIOCore
import SluiceHTTP2
import SluiceRPC
import SluiceServer

/// Runs a set of services as a server process: health and reflection beside them, TLS and
/// limits from the options, structured logs, and a graceful drain on SIGTERM or SIGINT.
public struct ServerRunner {
    public let options: ServerOptions
    public let services: [any RPCService]
    /// The request message limit unless the options set one.
    public let defaultReceiveLimit: Int
    /// What grpc.health.v1 answers from; others (a database monitor) may set statuses in it too.
    public let health: HealthStatusRegistry
    /// Admits every call before its handler runs (quotas' and rate limits' gate); nil admits all.
    public let admission: (any CallAdmission)?

    public init(
        options: ServerOptions, services: [any RPCService],
        defaultReceiveLimit: Int = ServerOptions.standardReceiveLimit, health: HealthStatusRegistry = HealthStatusRegistry(),
        admission: (any CallAdmission)? = nil
    ) {
        self.options = options
        self.services = services
        self.defaultReceiveLimit = defaultReceiveLimit
        self.health = health
        self.admission = admission
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
    public func run(
        name: String, started: (HTTP2Server) -> Void = { _ in }, draining: () -> Void = {}
    ) async throws {
        let logger = Logger(label: name)

        var router = Router()
        for service in services { router.register(service) }
        router.register(HealthService(registry: health))
        router.register(try ReflectionService(serviceNames: router.serviceNames))
        for service in router.serviceNames { health.set(service: service, status: .serving) }

        let callLogger = logger
        let dispatcher = CallDispatcher(router: router, maxReceiveMessageSize: options.receiveLimit(default: defaultReceiveLimit), admission: admission) { call in
            var metadata: Logger.Metadata = [
                "method": "\(call.path)", "status": "\(call.code)", "peer": "\(call.peer?.description ?? "-")",
                "remote": "\(call.remoteAddress ?? "-")", "request_id": "\(call.requestID ?? "-")",
                "duration_ms": "\(Double(call.duration.components.attoseconds) / 1e15 + Double(call.duration.components.seconds) * 1000)",
            ]
            if call.code == .ok {
                callLogger.debug("call", metadata: metadata)
            } else if let cause = call.cause {
                metadata["error"] = "\(call.message)"
                metadata["cause"] = "\(cause)"
                callLogger.error("call failed internally", metadata: metadata)
            } else {
                callLogger.info("call failed", metadata: metadata.merging(["error": "\(call.message)"]) { $1 })
            }
        }
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

        let signal = await ShutdownSignal.wait()
        logger.notice("draining", metadata: ["signal": "\(signal)", "drain_timeout_s": "\(options.drainTimeout)"])
        health.shutdown()
        draining()
        await server.shutdown(drainTimeout: .seconds(options.drainTimeout))
        logger.notice("stopped")
    }
}

/// Waits for SIGTERM or SIGINT.
enum ShutdownSignal {
    static func wait() async -> String {
        let (signals, continuation) = AsyncStream<String>.makeStream()
        let sources = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")].map { number, name in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            return source
        }
        var iterator = signals.makeAsyncIterator()
        let received = await iterator.next() ?? "end of signals"
        withExtendedLifetime(sources) {}
        return received
    }
}
