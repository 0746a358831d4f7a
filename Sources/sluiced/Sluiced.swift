import ArgumentParser
import SluiceDaemon

/// sluiced: the Sluice server.
@main
struct Sluiced: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluiced",
        abstract: "The Sluice storage server: gRPC over HTTP/2 with TLS and mutual TLS.",
        discussion: """
            Every option can also be set through an environment variable SLUICED_<NAME>, \
            for example SLUICED_LISTEN=0.0.0.0:8443. SIGTERM or SIGINT drains running calls, then exits.
            """)

    @OptionGroup var options: ServerOptions

    func run() async throws {
        try await ServerRunner(options: options, services: []).run(name: "sluiced")
    }
}
