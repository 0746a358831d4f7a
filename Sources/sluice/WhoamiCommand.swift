import ArgumentParser
import SluiceClient
import SluiceOpenSSL
import SluiceProto
import SluiceRPC

/// `sluice whoami`: the identity the client certificate gives, and whether the server takes it.
struct WhoamiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Show the client certificate's subject and names, and check the server accepts it.",
        discussion: """
            Prints the subject and subject alternative names of the --cert file (the names the \
            server knows you by), then makes a health call with it: exits 0 if the server accepts \
            the certificate, 4 if the TLS handshake or the call is refused. A server with storage \
            also tells your handle, the name others share with you by.
            Example: sluice whoami --cert certs/client.pem --key certs/client-key.pem --ca certs/ca.pem
            """)

    @OptionGroup var connection: ClientOptions

    @OptionGroup var answerTimeout: AnswerTimeoutFlag

    func run() async throws {
        let settings = try connection.resolved()
        guard let cert = settings.cert else {
            throw UsageError("whoami needs a client certificate: --cert, SLUICE_CERT or `cert` in the config file")
        }
        IdentityText.lines(try CertificateIdentity(pemFile: cert)).forEach { Output.line($0) }
        let (status, principal) = try await settings.withClient { client in
            let status = try await ServerHealth.check(client: client, timeout: .seconds(answerTimeout.timeout))
            return (status, try await Self.principal(client: client, timeout: answerTimeout.timeout))
        }
        Output.line("server \(settings.server) accepts this certificate (health: \(ServerHealth.name(of: status)))")
        if let principal {
            Output.line("handle: \(principal.handle)")
            Output.line("principal (on \(settings.server)): \(principal.identity)")
        }
    }

    /// The caller's handle and identity as the server knows them; nil from a server without
    /// storage (no SharingService).
    private static func principal(client: RPCClient, timeout: Int) async throws -> Sluice_V1_PrincipalInfo? {
        do {
            return try await ShareCatalog(client: client, retry: RetryPolicy(maxRetries: 0), callTimeout: .seconds(timeout))
                .whoAmI()
        } catch let error as RPCError where error.code == .unimplemented {
            return nil
        }
    }
}
