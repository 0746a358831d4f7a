import ArgumentParser
import Logging
import SluiceHTTP2
import SluiceOpenSSL

/// The flags every Sluice server shares: address, TLS, limits, liveness, logging.
/// Each has an environment variable `SLUICED_<NAME>` as its default.
public struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on, HOST:PORT. (env: SLUICED_LISTEN)")
    public var listen = EnvironmentDefaults.string("SLUICED_LISTEN", default: "127.0.0.1:8443")

    @Option(help: "Server certificate chain, PEM. (env: SLUICED_CERT)")
    public var cert = EnvironmentDefaults.string("SLUICED_CERT")

    @Option(help: "Server private key, PEM. (env: SLUICED_KEY)")
    public var key = EnvironmentDefaults.string("SLUICED_KEY")

    @Option(help: "CA that client certificates must chain to, PEM; enables mutual TLS. (env: SLUICED_CLIENT_CA)")
    public var clientCA = EnvironmentDefaults.string("SLUICED_CLIENT_CA")

    @Flag(help: "Refuse clients without a valid certificate. (env: SLUICED_REQUIRE_CLIENT_CERT)")
    public var requireClientCert = EnvironmentDefaults.bool("SLUICED_REQUIRE_CLIENT_CERT")

    @Flag(help: "Serve cleartext HTTP/2 with prior knowledge instead of TLS; for local debugging only. (env: SLUICED_H2C)")
    public var h2c = EnvironmentDefaults.bool("SLUICED_H2C")

    @Option(help: "trace, debug, info, notice, warning, error or critical. (env: SLUICED_LOG_LEVEL)")
    public var logLevel = EnvironmentDefaults.string("SLUICED_LOG_LEVEL", default: "info")

    @Option(parsing: .unconditional, help: ArgumentHelp(
        "Largest request message accepted, serialized bytes. (env: SLUICED_MAX_RECEIVE_MESSAGE_SIZE)",
        discussion: "Default: sluiced 4325376 (4 MiB of data plus 128 KiB for the message's own fields; also its least), other servers 4194304."))
    public var maxReceiveMessageSize: Int?

    @Option(parsing: .unconditional, help: "Concurrent streams per connection. (env: SLUICED_MAX_CONCURRENT_STREAMS)")
    public var maxConcurrentStreams = EnvironmentDefaults.int("SLUICED_MAX_CONCURRENT_STREAMS", default: 256)

    @Option(parsing: .unconditional, help: "Largest request header list, bytes. (env: SLUICED_MAX_HEADER_LIST_SIZE)")
    public var maxHeaderListSize = EnvironmentDefaults.int("SLUICED_MAX_HEADER_LIST_SIZE", default: 16 * 1024)

    /// 2 MiB: what a stream's request bytes may hold while its handler is busy. The busy
    /// streams of a parallel upload hold it many times over, and the allocator's slack grows
    /// with it, so it sets the server's memory during one (eight streams, 4 GiB: 48 MiB of
    /// growth at 2 MiB, 67 at 4, 80 at 8); loopback throughput did not move. It still keeps two
    /// 1 MiB messages in flight; on a long round trip it grows (`maxStreamWindow`).
    @Option(parsing: .unconditional, help: "Receive window per stream, bytes. (env: SLUICED_STREAM_WINDOW)")
    public var streamWindow = EnvironmentDefaults.int("SLUICED_STREAM_WINDOW", default: 2 * 1024 * 1024)

    /// 16 MiB: at 2 MiB a stream would carry at most 40 MB/s over a 50 ms round trip. The
    /// window doubles towards this only while it, not the link or the handler, holds a client
    /// back (measured with PINGs); on loopback and nearby links it stays at `streamWindow`. At
    /// or below `streamWindow` the window is fixed, so a larger `--stream-window` alone still works.
    @Option(parsing: .unconditional, help: "Largest receive window per stream on a long round trip, bytes; at or below --stream-window the window stays fixed. (env: SLUICED_MAX_STREAM_WINDOW)")
    public var maxStreamWindow = EnvironmentDefaults.int("SLUICED_MAX_STREAM_WINDOW", default: 16 * 1024 * 1024)

    @Option(parsing: .unconditional, help: "Receive window per connection, bytes. (env: SLUICED_CONNECTION_WINDOW)")
    public var connectionWindow = EnvironmentDefaults.int("SLUICED_CONNECTION_WINDOW", default: 64 * 1024 * 1024)

    @Option(parsing: .unconditional, help: "Request bytes the process may hold unread by handlers before busy connections stop reading. (env: SLUICED_MAX_UNREAD_REQUEST_BYTES)")
    public var maxUnreadRequestBytes = EnvironmentDefaults.int("SLUICED_MAX_UNREAD_REQUEST_BYTES", default: 64 * 1024 * 1024)

    @Option(parsing: .unconditional, help: "Seconds of silence before a keepalive PING. (env: SLUICED_KEEPALIVE_INTERVAL)")
    public var keepaliveInterval = EnvironmentDefaults.int("SLUICED_KEEPALIVE_INTERVAL", default: 60)

    @Option(parsing: .unconditional, help: "Seconds a connection may stay without streams. (env: SLUICED_IDLE_TIMEOUT)")
    public var idleTimeout = EnvironmentDefaults.int("SLUICED_IDLE_TIMEOUT", default: 300)

    @Option(parsing: .unconditional, help: "Seconds a client has after TLS to send its HTTP/2 preface. (env: SLUICED_PREFACE_TIMEOUT)")
    public var prefaceTimeout = EnvironmentDefaults.int("SLUICED_PREFACE_TIMEOUT", default: 10)

    @Option(parsing: .unconditional, help: "Seconds a stream may wait on its client (request bytes, or window for the response) before it is reset. (env: SLUICED_STREAM_STALL_TIMEOUT)")
    public var streamStallTimeout = EnvironmentDefaults.int("SLUICED_STREAM_STALL_TIMEOUT", default: 60)

    @Option(parsing: .unconditional, help: "Connections open at once; more are closed as soon as they are accepted. 0: half the open-file limit. (env: SLUICED_MAX_CONNECTIONS)")
    public var maxConnections = EnvironmentDefaults.int("SLUICED_MAX_CONNECTIONS", default: 0)

    @Option(parsing: .unconditional, help: "Seconds running calls get to finish on SIGTERM or SIGINT. (env: SLUICED_DRAIN_TIMEOUT)")
    public var drainTimeout = EnvironmentDefaults.int("SLUICED_DRAIN_TIMEOUT", default: 30)

    @Option(help: "Serve Prometheus metrics over plain HTTP/1.1 at http://HOST:PORT/metrics; off unless given. (env: SLUICED_METRICS_LISTEN)")
    public var metricsListen = EnvironmentDefaults.string("SLUICED_METRICS_LISTEN")

    @Option(help: "One info line per call (method, principal, status, bytes, duration, request id): on or off. (env: SLUICED_ACCESS_LOG)")
    public var accessLog = EnvironmentDefaults.string("SLUICED_ACCESS_LOG", default: "on")

    public init() {}

    public mutating func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard (try? parseListen()) != nil else { throw ValidationError("--listen must be HOST:PORT, got '\(listen)'") }
        if !h2c && (cert == nil || key == nil) {
            throw ValidationError("TLS needs --cert and --key (or pass --h2c for cleartext debugging)")
        }
        if requireClientCert && clientCA == nil {
            throw ValidationError("--require-client-cert needs --client-ca")
        }
        guard receiveLimit(default: 1) > 0 else { throw ValidationError("--max-receive-message-size must be positive") }
        try FlagRange.check([
            FlagRange("--max-concurrent-streams", maxConcurrentStreams, 1...FlagRange.maxSetting),
            FlagRange("--max-header-list-size", maxHeaderListSize, 1...FlagRange.maxSetting, unit: "bytes"),
            FlagRange("--max-unread-request-bytes", maxUnreadRequestBytes, 1...FlagRange.maxAmount, unit: "bytes"),
            .seconds("--keepalive-interval", keepaliveInterval),
            .seconds("--idle-timeout", idleTimeout),
            .seconds("--preface-timeout", prefaceTimeout),
            .seconds("--stream-stall-timeout", streamStallTimeout),
            FlagRange("--max-connections", maxConnections, 0...1_000_000, note: "0: half the open-file limit"),
            .seconds("--drain-timeout", drainTimeout, from: 0, note: "0 closes connections at once"),
        ])
        if let metricsListen, HostAndPort.split(metricsListen) == nil {
            throw ValidationError("--metrics-listen must be HOST:PORT, got '\(metricsListen)'")
        }
        guard ["on", "off"].contains(accessLog) else {
            throw ValidationError("--access-log must be on or off, got '\(accessLog)'")
        }
        guard (65_535...Int(Int32.max)).contains(streamWindow), (65_535...Int(Int32.max)).contains(connectionWindow) else {
            throw ValidationError("--stream-window and --connection-window must be between 65535 and 2147483647")
        }
        guard (65_535...Int(Int32.max)).contains(maxStreamWindow) else {
            throw ValidationError("--max-stream-window must be between 65535 and 2147483647, got \(maxStreamWindow)")
        }
        try EnvironmentDefaults.checkReadable()
    }

    /// The largest request message accepted: `--max-receive-message-size`, else
    /// `SLUICED_MAX_RECEIVE_MESSAGE_SIZE`, else the server's own default (its messages decide it).
    public func receiveLimit(default fallback: Int) -> Int {
        maxReceiveMessageSize ?? EnvironmentDefaults.int("SLUICED_MAX_RECEIVE_MESSAGE_SIZE", default: fallback)
    }

    /// gRPC's customary limit, for servers whose messages carry no bulk data.
    public static let standardReceiveLimit = 4 * 1024 * 1024

    /// The largest message gRPC's framing can announce: its length prefix is 32 bits.
    public static let largestReceiveLimit = Int(UInt32.max)

    /// Refuses a `--max-receive-message-size` (or its variable) outside `minimum` to
    /// ``largestReceiveLimit``: below the largest message a server's own clients send (a
    /// full PutObject, say), every such call would fail, so it is a mistake to report at start-up.
    public func validateReceiveLimit(default fallback: Int, minimum: Int) throws {
        let limit = receiveLimit(default: fallback)
        guard (minimum...Self.largestReceiveLimit).contains(limit) else {
            throw ValidationError(
                "--max-receive-message-size must be \(minimum) to \(Self.largestReceiveLimit) bytes (room for the "
                    + "largest request this server takes), got \(limit)")
        }
    }

    /// Splits `--listen` into host and port; accepts `[::1]:8443`.
    public func parseListen() throws -> (host: String, port: Int) {
        guard let (host, port) = HostAndPort.split(listen) else { throw ValidationError("--listen must be HOST:PORT") }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// Whether every call gets an info line (`--access-log on`).
    public var accessLogEnabled: Bool { accessLog == "on" }

    /// Splits `--metrics-listen`; nil when metrics are off.
    public func parseMetricsListen() -> (host: String, port: Int)? {
        guard let metricsListen, let (host, port) = HostAndPort.split(metricsListen) else { return nil }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }

    /// The transport configuration these options describe.
    public func transportConfiguration() throws -> HTTP2ServerConfiguration {
        let (host, port) = try parseListen()
        var tls: TLSContext?
        if !h2c, let cert, let key {
            tls = try TLSContext.server(
                certificateChainPath: cert, privateKeyPath: key, clientCAPath: clientCA,
                requireClientCertificate: requireClientCert)
        }
        var configuration = HTTP2ServerConfiguration(host: host, port: port, tls: tls)
        configuration.http2.maxConcurrentStreams = maxConcurrentStreams
        configuration.http2.maxHeaderListSize = maxHeaderListSize
        configuration.http2.streamWindowSize = streamWindow
        configuration.http2.maxStreamWindowSize = maxStreamWindow
        configuration.http2.connectionWindowSize = connectionWindow
        configuration.unreadRequestBytesLimit = maxUnreadRequestBytes
        configuration.connection.keepaliveInterval = .seconds(keepaliveInterval)
        configuration.connection.idleTimeout = .seconds(idleTimeout)
        configuration.connection.prefaceTimeout = .seconds(prefaceTimeout)
        configuration.connection.streamStallTimeout = .seconds(streamStallTimeout)
        configuration.maxConnections = maxConnections > 0 ? maxConnections : max(OpenFileLimit.current().soft / 2, 16)
        return configuration
    }
}
