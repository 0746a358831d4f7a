import ArgumentParser
import SluiceClient
import SluiceOpenSSL

/// `sluice whoami`: the identity the client certificate gives, and whether the server takes it.
struct WhoamiCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "whoami",
        abstract: "Show the client certificate's subject and names, and check the server accepts it.",
        discussion: """
            Prints the subject and subject alternative names of the --cert file (the names the \
            server knows you by), then makes a health call with it: exits 0 if the server accepts \
            the certificate, 4 if the TLS handshake or the call is refused.
            Example: sluice whoami --cert certs/client.pem --key certs/client-key.pem --ca certs/ca.pem
            """)

    @OptionGroup var connection: ClientOptions

    @Option(help: "Seconds to wait for the server.")
    var timeout = 10

    func run() async throws {
        let settings = try connection.resolved()
        guard let cert = settings.cert else {
            throw UsageError("whoami needs a client certificate: --cert, SLUICE_CERT or `cert` in the config file")
        }
        IdentityText.lines(try CertificateIdentity(pemFile: cert)).forEach { print($0) }
        let status = try await settings.withClient { client in
            try await ServerHealth.check(client: client, timeout: .seconds(timeout))
        }
        print("server \(settings.server) accepts this certificate (health: \(ServerHealth.name(of: status)))")
    }
}
