import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import SluiceHTTP2

/// A plain HTTP/1.1 listener answering `GET /metrics` with the Prometheus text exposition of
/// `registry`; 404 for any other path, 405 for any other method on it. Meant for a monitoring
/// system on a private address: no TLS, no authentication (nothing on the page names a
/// principal or an object). Bounded because it is reachable without credentials: at most
/// ``MetricsConnectionLimits/maxConnections`` connections (one past it is closed as soon as it
/// is accepted), each closed when it has not sent a complete request within
/// ``MetricsConnectionLimits/requestTimeout`` (``MetricsRequestTimeout``). An accept that fails
/// for want of a resource (EMFILE, ENFILE, ENOBUFS, ENOMEM) pauses accepting for a second
/// (``AcceptPause``) rather than retrying at once.
final class MetricsServer: Sendable {
    private let listener: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    private let task: Task<Void, Never>

    /// The bound address (port 0 picks a free one).
    let address: SocketAddress?

    /// Binds and starts serving. `beforeScrape` runs before each page is rendered, to refresh
    /// gauges that are read rather than kept (open sessions live in the database).
    init(
        host: String, port: Int, registry: PrometheusCollectorRegistry,
        beforeScrape: @escaping @Sendable () async -> Void, logger: Logger
    ) async throws {
        let slots = MetricsConnectionSlots()
        listener = try await ListenError.naming("--metrics-listen", host: host, port: port) {
            try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.backlog, value: 16)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .serverChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(AcceptPause(listener: "metrics", logger: logger))
                    }
                }
                .bind(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard slots.take() else {
                            logger.debug("refused a metrics connection past the limit", metadata: [
                                "max_connections": "\(slots.limit)",
                                "peer": "\(channel.remoteAddress?.description ?? "?")",
                            ])
                            channel.close(promise: nil)
                            throw MetricsConnectionRefused()
                        }
                        channel.closeFuture.whenComplete { _ in slots.give() }
                        do {
                            try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                            try channel.pipeline.syncOperations.addHandler(MetricsRequestTimeout())
                            return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                                wrappingChannelSynchronously: channel)
                        } catch {
                            // A connection that is never served is closed here, which frees its slot.
                            channel.close(promise: nil)
                            throw error
                        }
                    }
                }
        }
        address = listener.channel.localAddress
        let listener = self.listener
        task = Task {
            await withDiscardingTaskGroup { group in
                do {
                    try await listener.executeThenClose { connections in
                        for try await connection in connections {
                            group.addTask {
                                await Self.serve(connection, registry: registry, beforeScrape: beforeScrape, logger: logger)
                            }
                        }
                    }
                } catch {
                    logger.debug("metrics listener ended", metadata: ["error": "\(error)"])
                }
                group.cancelAll()
            }
        }
    }

    /// Stops accepting and closes open scrape connections.
    func close() async {
        try? await listener.channel.close()
        task.cancel()
    }

    /// Answers the requests of one connection, in order, until the client closes it or asks to.
    private static func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        registry: PrometheusCollectorRegistry, beforeScrape: @escaping @Sendable () async -> Void, logger: Logger
    ) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let received):
                        head = received
                    case .body:
                        continue
                    case .end:
                        guard let request = head else { return }
                        head = nil
                        let response = await respond(to: request, registry: registry, beforeScrape: beforeScrape)
                        var headers = HTTPHeaders()
                        headers.add(name: "content-type", value: response.contentType)
                        headers.add(name: "content-length", value: "\(response.body.count)")
                        if let allow = response.allow { headers.add(name: "allow", value: allow) }
                        if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
                        try await outbound.write(
                            .head(HTTPResponseHead(version: request.version, status: response.status, headers: headers)))
                        try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
                        try await outbound.write(.end(nil))
                        if !request.isKeepAlive { return }
                    }
                }
            }
        } catch {
            logger.debug("metrics connection ended", metadata: ["error": "\(error)"])
        }
    }

    private struct Response {
        var status: HTTPResponseStatus
        var contentType = "text/plain; charset=utf-8"
        var body: [UInt8]
        var allow: String? = nil
    }

    /// The exposition path; its query string, if any, is ignored.
    static let path = "/metrics"

    private static func respond(
        to request: HTTPRequestHead, registry: PrometheusCollectorRegistry, beforeScrape: @escaping @Sendable () async -> Void
    ) async -> Response {
        let path = request.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == Self.path else {
            return Response(status: .notFound, body: Array("not found; metrics are at \(Self.path)\n".utf8))
        }
        guard request.method == .GET else {
            return Response(status: .methodNotAllowed, body: Array("\(Self.path) answers GET only\n".utf8), allow: "GET")
        }
        await waitAtMost(.seconds(1), for: beforeScrape)
        return Response(
            status: .ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: registry.emitToBuffer())
    }

    /// Waits for `work` at most `limit`, leaving it to finish in the background past that: a
    /// scrape answers even while the database does not (its gauges then keep their last values).
    private static func waitAtMost(_ limit: Duration, for work: @escaping @Sendable () async -> Void) async {
        let (finished, signal) = AsyncStream<Void>.makeStream()
        Task { await work(); signal.finish() }
        Task { try? await Task.sleep(for: limit); signal.finish() }
        for await _ in finished {}
    }
}

/// A connection past ``MetricsConnectionLimits/maxConnections``: closed, never served.
private struct MetricsConnectionRefused: Error {}
