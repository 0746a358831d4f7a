import ArgumentParser
import Foundation
import SluiceHTTP2
import SluiceOpenSSL
import SluiceRPC

/// How a client reaches sluiced: the flags every `sluice` command shares, each with an
/// environment variable as its default.
public struct ClientOptions: ParsableArguments {
    @Option(help: "Server address, HOST:PORT. (env: SLUICE_SERVER)")
    public var server = ClientOptions.environment("SLUICE_SERVER") ?? "127.0.0.1:8443"

    @Option(help: "CA that the server certificate must chain to, PEM. (env: SLUICE_CA)")
    public var ca = ClientOptions.environment("SLUICE_CA")

    @Option(help: "Client certificate for mutual TLS, PEM. (env: SLUICE_CERT)")
    public var cert = ClientOptions.environment("SLUICE_CERT")

    @Option(help: "Client private key, PEM. (env: SLUICE_KEY)")
    public var key = ClientOptions.environment("SLUICE_KEY")

    @Option(help: "Name the server certificate must carry; defaults to the server's host.")
    public var serverName: String?

    @Flag(help: "Speak cleartext HTTP/2 (h2c) instead of TLS; for a server started with --h2c.")
    public var plaintext = false

    public init() {}

    public func validate() throws {
        guard (try? hostAndPort()) != nil else { throw ValidationError("--server must be HOST:PORT, got '\(server)'") }
        if (cert == nil) != (key == nil) { throw ValidationError("--cert and --key go together") }
    }

    /// Splits `--server`; accepts `[::1]:8443`.
    public func hostAndPort() throws -> (host: String, port: Int) {
        guard let colon = server.lastIndex(of: ":"), let port = Int(server[server.index(after: colon)...]),
              (1...65_535).contains(port)
        else { throw ValidationError("--server must be HOST:PORT") }
        var host = String(server[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }

    /// A transport to the server these options name.
    public func makeTransport() throws -> HTTP2ClientTransport {
        let (host, port) = try hostAndPort()
        let tls = plaintext
            ? nil
            : try TLSContext.client(trustRootsPath: ca, certificateChainPath: cert, privateKeyPath: key)
        return HTTP2ClientTransport(host: host, port: port, tls: tls, serverName: serverName)
    }

    private static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }
}
