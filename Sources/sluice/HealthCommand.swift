import ArgumentParser
import SluiceClient
import SluiceProto
import SluiceRPC

/// `sluice health`: asks the server's standard health service whether it is serving.
struct HealthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "health",
        abstract: "Check that the server is up and serving.",
        discussion: """
            Prints the serving status and exits 0 when it is SERVING, 1 otherwise.
            Example: sluice health --server 127.0.0.1:8443 --ca certs/ca.pem --cert certs/client.pem --key certs/client-key.pem
            """)

    @OptionGroup var connection: ClientOptions

    @Option(help: "The service to ask about; empty means the server as a whole.")
    var service = ""

    @Option(help: "Seconds to wait for an answer.")
    var timeout = 10

    func run() async throws {
        let transport = try connection.makeTransport()
        let health = Grpc_Health_V1_HealthClient(RPCClient(transport: transport))
        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = service
        do {
            let response = try await health.check(request, options: CallOptions(timeout: .seconds(timeout)))
            await transport.close()
            print(Self.name(of: response.status))
            if response.status != .serving { throw ExitCode(1) }
        } catch let error as RPCError {
            await transport.close()
            print("error: \(error)")
            throw ExitCode(1)
        }
    }

    static func name(of status: Grpc_Health_V1_HealthCheckResponse.ServingStatus) -> String {
        switch status {
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        default: "UNKNOWN"
        }
    }
}
