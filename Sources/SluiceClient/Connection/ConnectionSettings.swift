import ArgumentParser
import Foundation
import Logging
import SluiceHTTP2
import SluiceOpenSSL
import SluiceRPC

/// Where and how to connect, once flags, environment and configuration file are combined.
public struct ConnectionSettings: Sendable, Equatable {
    /// The server used when nothing names one.
    public static let defaultServer = "127.0.0.1:8443"

    /// HOST:PORT.
    public var server: String
    public var ca: String?
    public var cert: String?
    public var key: String?
    public var serverName: String?
    public var plaintext: Bool

    public init(
        server: String = defaultServer, ca: String? = nil, cert: String? = nil, key: String? = nil,
        serverName: String? = nil, plaintext: Bool = false
    ) {
        self.server = server
        self.ca = ca
        self.cert = cert
        self.key = key
        self.serverName = serverName
        self.plaintext = plaintext
    }

    /// Checks the settings fit together.
    public func validate() throws {
        _ = try Self.hostAndPort(server)
        if (cert == nil) != (key == nil) {
            throw ValidationError("a client certificate and its key go together: give both --cert and --key")
        }
    }

    /// How far a stream's receive window may grow (from 8 MiB) when a long round trip, not the
    /// CLI, holds the server back: as far as the connection's window (64 MiB), which bounds
    /// what all streams hold together, as it did before. Over a 100 ms round trip one download
    /// stream moved 39 MB/s with the window fixed, 72–76 with 16 MiB at most, 112–145 with 64.
    static let maxStreamWindow = HTTP2Settings().connectionWindowSize

    /// How the `sluice` CLI notices a connection to sluiced that died without a word (a laptop
    /// that slept or changed networks, a NAT that forgot it): after 10 s of hearing nothing it
    /// pings, and gives the connection up when 10 s pass without the answer, so `watch` and
    /// `sync --watch` reconnect and hear of changes within about 20 s, not the 80 s of the
    /// transport's defaults. A live sluiced answers at once: its reading never waits on the
    /// CLI's, and a transfer hears from it at least once a second while its bytes are taken.
    /// Not for other gRPC servers (`sluice-interop`): gRPC's C core, by default, answers a
    /// client that pings more often than every 5 minutes on a quiet connection with GOAWAY.
    static let liveness: ConnectionConfiguration = {
        var configuration = ConnectionConfiguration()
        configuration.keepaliveInterval = .seconds(10)
        configuration.keepaliveTimeout = .seconds(10)
        return configuration
    }()

    /// A transport to the server: one HTTP/2 connection, opened on first use, kept alive as
    /// `liveness` says (the transport's defaults unless told otherwise).
    public func makeTransport(liveness: ConnectionConfiguration = ConnectionConfiguration()) throws -> HTTP2ClientTransport {
        let (host, port) = try Self.hostAndPort(server)
        for (flag, path) in [("--ca", ca), ("--cert", cert), ("--key", key)] {
            if let path { try Self.requireReadable(path, givenBy: flag) }
        }
        let tls = plaintext
            ? nil
            : try TLSContext.client(trustRootsPath: ca, certificateChainPath: cert, privateKeyPath: key)
        // The transport's own reports of failures reach the user as errors; keep its log quiet.
        var logger = Logger(label: "sluice.http2.client")
        logger.logLevel = .warning
        var http2 = HTTP2Settings()
        http2.maxStreamWindowSize = Self.maxStreamWindow
        return HTTP2ClientTransport(
            host: host, port: port, tls: tls, serverName: serverName, settings: http2, connection: liveness,
            logger: logger)
    }

    /// Refuses a certificate or key file that cannot be opened with the reason in words (a
    /// missing one is "not found", exit 3, as any local file to read), before OpenSSL would
    /// answer with its error chain.
    private static func requireReadable(_ path: String, givenBy flag: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw LocalFileError(path: path, operation: "read \(flag)", code: errno) }
        close(descriptor)
    }

    /// Runs `body` with a client of sluiced on a fresh connection (kept alive as ``liveness``
    /// says), closed afterwards.
    public func withClient<Result>(_ body: (RPCClient) async throws -> Result) async throws -> Result {
        let transport = try makeTransport(liveness: Self.liveness)
        do {
            let result = try await body(RPCClient(transport: transport))
            await transport.close()
            return result
        } catch {
            await transport.close()
            throw error
        }
    }

    /// Splits HOST:PORT; accepts `[::1]:8443`, and `https://HOST:PORT` (with or without a
    /// trailing `/`), since TLS is what the client speaks anyway. Any other scheme, a path, a
    /// query or user information is refused with the expected form, rather than being taken for
    /// part of a host name.
    public static func hostAndPort(_ server: String) throws -> (host: String, port: Int) {
        var address = Substring(server)
        if let schemeEnd = address.range(of: "://") {
            let scheme = address[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "https" else {
                throw ValidationError(
                    "the server must be HOST:PORT (or https://HOST:PORT), got '\(server)': "
                        + "sluice speaks gRPC over TLS, not \(scheme)://")
            }
            address = address[schemeEnd.upperBound...]
            if address.hasSuffix("/") { address = address.dropLast() }
        }
        guard !address.contains(where: { "/?#@".contains($0) || $0.isWhitespace }) else {
            throw ValidationError(
                "the server must be HOST:PORT (or https://HOST:PORT) without a path, got '\(server)'")
        }
        guard let (host, port) = HostAndPort.split(String(address)), port > 0, !host.isEmpty else {
            throw ValidationError("the server must be HOST:PORT (for example sluice.example.com:8443), got '\(server)'")
        }
        return (host, port)
    }
}
