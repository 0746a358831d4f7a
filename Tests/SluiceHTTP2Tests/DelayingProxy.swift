import NIOCore
import NIOPosix

/// A TCP proxy on loopback that holds every byte for `delay` in each direction: a long link
/// (a round trip of twice the delay) with loopback's bandwidth, for flow-control tests.
final class DelayingProxy: Sendable {
    let port: Int
    private let listener: Channel

    private init(port: Int, listener: Channel) {
        self.port = port
        self.listener = listener
    }

    /// Listens on an ephemeral loopback port and forwards each connection to `targetPort`.
    static func start(to targetPort: Int, delay: TimeAmount, group: EventLoopGroup) async throws -> DelayingProxy {
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                ClientBootstrap(group: inbound.eventLoop)
                    .channelInitializer { outbound in
                        outbound.eventLoop.makeCompletedFuture {
                            try outbound.pipeline.syncOperations.addHandler(DelayedForwarder(delay: delay, peer: inbound))
                        }
                    }
                    .connect(host: "127.0.0.1", port: targetPort)
                    .flatMap { outbound in
                        inbound.eventLoop.makeCompletedFuture {
                            try inbound.pipeline.syncOperations.addHandler(DelayedForwarder(delay: delay, peer: outbound))
                        }.flatMap { inbound.setOption(.autoRead, value: true) }
                    }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = listener.localAddress?.port else { throw TestFailure("the proxy has no port") }
        return DelayingProxy(port: port, listener: listener)
    }

    func close() async {
        try? await listener.close()
    }
}

/// Writes what one side reads to the other side `delay` later, in order; closes the other
/// side when this one closes.
private final class DelayedForwarder: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    let delay: TimeAmount
    let peer: Channel

    init(delay: TimeAmount, peer: Channel) {
        self.delay = delay
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        let peer = self.peer
        context.eventLoop.scheduleTask(in: delay) { peer.writeAndFlush(bytes, promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let peer = self.peer
        context.eventLoop.scheduleTask(in: delay) { peer.close(promise: nil) }
        context.fireChannelInactive()
    }
}
