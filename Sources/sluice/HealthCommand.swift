import ArgumentParser
import SluiceClient

/// `sluice health`: asks the server's standard health service whether it is serving.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check that the server is up and serving.",
        discussion: """
            Prints the serving status and exits 0 when it is SERVING; 6 when it is NOT_SERVING \
            (the server is up but cannot serve now, e.g. its database is down: a transient \
            state, as an unreachable server is); 1 otherwise.
            Example: sluice health --server 127.0.0.1:8443 --ca certs/ca.pem \
            --cert certs/client.pem --key certs/client-key.pem
            """)

    @OptionGroup var connection: ClientOptions

    @Option(help: "The service to ask about; empty means the server as a whole.")
    var service = ""

    @OptionGroup var answerTimeout: AnswerTimeoutFlag

    func run() async throws {
        let settings = try connection.resolved()
        let status = try await settings.withClient { client in
            try await ServerHealth.check(client: client, service: service, timeout: .seconds(answerTimeout.timeout))
        }
        Output.line(ServerHealth.name(of: status))
        switch status {
        case .serving: break
        case .notServing: throw ExitCode(SluiceExitCode.transient.rawValue)
        default: throw ExitCode(SluiceExitCode.failure.rawValue)
        }
    }
}
