import ArgumentParser
import Logging
import SluiceDaemon
import SluiceOpenSSL

/// sluiced: the Sluice server.
@main
struct Sluiced: AsyncParsableCommand {
    /// OpenSSL is set up before anything touches it (see `OpenSSLLibrary`).
    static func main() async {
        OpenSSLLibrary.initializeWithoutExitCleanup()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "sluiced",
        abstract: "The Sluice storage server: gRPC over HTTP/2 with TLS and mutual TLS.",
        discussion: """
            Every option can also be set through an environment variable SLUICED_<NAME>, \
            for example SLUICED_LISTEN=0.0.0.0:8443. SIGTERM or SIGINT drains running calls, then exits. \
            Without --database, only the health and reflection services run.
            """)

    @OptionGroup var options: ServerOptions
    @OptionGroup var storage: StorageOptions

    /// The checks that need both groups: sluiced's own messages set the least receive limit.
    func validate() throws {
        try options.validateReceiveLimit(default: StorageOptions.receiveLimit, minimum: StorageOptions.receiveLimit)
    }

    func run() async throws {
        let shutdown = ShutdownSignal()
        ServerRunner.bootstrapLogging(options)
        ServerRunner.bootstrapMetrics(options)
        let logger = Logger(label: "sluiced")
        let files = OpenFileLimit.raiseToHardLimit()
        logger.notice("open file limit", metadata: [
            "soft_before": "\(files.before)", "soft": "\(files.after)", "hard": "\(files.hard)",
        ])
        var bootstrap: StorageBootstrap?
        if let database = storage.database {
            bootstrap = try await StorageBootstrap(options: storage, databaseURL: database, logger: logger)
        } else {
            logger.warning("no --database given: storage services are off, only health and reflection run")
        }
        let refreshMetrics: @Sendable () async -> Void
        if let bootstrap { refreshMetrics = bootstrap.metricsRefresher } else { refreshMetrics = {} }
        let runner = ServerRunner(
            options: options, services: bootstrap?.services ?? [], defaultReceiveLimit: StorageOptions.receiveLimit,
            principalMapping: bootstrap?.principalMapping, beforeScrape: refreshMetrics, interceptor: bootstrap?.interceptor)
        bootstrap?.monitorDatabase(health: runner.health)
        try await runner.run(name: "sluiced", until: shutdown, draining: { bootstrap?.endWatchers() })
        bootstrap?.shutdown()
    }
}
