import Foundation
import SluiceRPC
import Testing

/// A request crossing a slow link keeps moving in its client's eyes. The client has long
/// written its bytes into the link's buffers while they still trickle to the server, and the
/// server's flow control alone would say it took them once per half window (4 MiB here,
/// minutes at a few kB/s): a client that fails a call after a while without progress took
/// such a call for stalled, again and again. The server now says so at least once a second.
@Suite(.timeLimit(.minutes(2))) struct SlowLinkTests {
    static let rate = 128 * 1024
    static let size = 1 << 20
    /// Far shorter than the request's time over the link (8 s), longer than a second.
    static let idle = Duration.seconds(3)

    @Test func aRequestOverASlowLinkIsNotTakenForStalled() async throws {
        try await withServer { server, _ in
            let relay = try SlowRelay(to: server.port, rate: Self.rate)
            defer { relay.close() }
            let transport = try server.makeTransport(port: relay.port)
            let started = ContinuousClock.now
            let response = try await RPCClient(transport: transport).echo.clientStreamEcho(
                options: CallOptions(idleTimeout: Self.idle)
            ) { writer in
                try await writer.write(.with { $0.payload = Data(repeating: 7, count: Self.size) })
            }
            await transport.close()
            #expect(response.receivedBytes == Int64(Self.size))
            #expect(ContinuousClock.now - started >= .seconds(6), "the link was not slow")
        }
    }
}
