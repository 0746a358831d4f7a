import ArgumentParser
import Foundation
import SluiceHTTP2

/// How a client reaches sluiced: the flags every `sluice` command shares. Each setting comes
/// from its flag, else its environment variable, else the configuration file, else a default.
public struct ClientOptions: ParsableArguments {
    @Option(help: "Server address, HOST:PORT (or https://HOST:PORT). (env: SLUICE_SERVER; default: 127.0.0.1:8443)")
    public var server: String?

    @Option(help: "CA that the server certificate must chain to, PEM. (env: SLUICE_CA)")
    public var ca: String?

    @Option(help: "Client certificate for mutual TLS, PEM. (env: SLUICE_CERT)")
    public var cert: String?

    @Option(help: "Client private key, PEM. (env: SLUICE_KEY)")
    public var key: String?

    @Option(help: """
        Configuration file of `key = value` lines (server, ca, cert, key). \
        (env: SLUICE_CONFIG; default: ~/.config/sluice/config)
        """)
    public var config: String?

    @Option(help: "Name the server certificate must carry; defaults to the server's host.")
    public var serverName: String?

    @Flag(help: "Speak cleartext HTTP/2 (h2c) instead of TLS; for a server started with --h2c.")
    public var plaintext = false

    public init() {}

    public func validate() throws {
        if let server {
            do {
                _ = try ConnectionSettings.hostAndPort(server)
            } catch let error as ValidationError {
                throw ValidationError("--server: \(error.message)")
            }
        }
    }

    /// The settings after flags, environment and configuration file are combined.
    public func resolved(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> ConnectionSettings {
        let environment = environment.filter { !$0.value.isEmpty }
        let file = try configFile(environment: environment)
        func pick(_ flag: String?, _ variable: String, _ key: String) -> String? {
            flag ?? environment[variable] ?? file?.values[key]
        }
        let settings = ConnectionSettings(
            server: pick(server, "SLUICE_SERVER", "server") ?? ConnectionSettings.defaultServer,
            ca: pick(ca, "SLUICE_CA", "ca"), cert: pick(cert, "SLUICE_CERT", "cert"),
            key: pick(key, "SLUICE_KEY", "key"), serverName: serverName, plaintext: plaintext)
        try settings.validate()
        return settings
    }

    /// A transport to the server these options name.
    public func makeTransport() throws -> HTTP2ClientTransport {
        try resolved().makeTransport()
    }

    /// The configuration file in effect: `--config`, else `$SLUICE_CONFIG` (both must
    /// exist), else `~/.config/sluice/config` when it exists.
    private func configFile(environment: [String: String]) throws -> ConfigFile? {
        if let path = config ?? environment["SLUICE_CONFIG"] {
            return try ConfigFile(contentsOf: (path as NSString).expandingTildeInPath)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let path = (home as NSString).appendingPathComponent(".config/sluice/config")
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        return try ConfigFile(contentsOf: path)
    }
}
