import Foundation
import SluiceInterop
import SluiceProto
import SluiceRPC
import Testing

/// A call whose bytes are paced (a principal's byte rate) keeps moving: request bytes are
/// taken, and response bytes sent, in steps of about a second, so a client that fails a call
/// after a few seconds without progress never takes a paced call for a stalled one. Paced
/// per message, a 3 MiB message at 256 KiB/s held its bytes (or its answer) back for 12 s.
@Suite(.timeLimit(.minutes(2))) struct PacedCallTests {
    /// Paces every call at `rate` bytes per second each way (its own debt; no burst).
    struct Pacing: CallInterceptor {
        let rate: Int

        final class Meter: CallByteMeter {
            let rate: Int
            init(rate: Int) { self.rate = rate }

            func owed(_ bytes: Int) -> Duration { .milliseconds(bytes * 1000 / rate) }
            func received(_ bytes: Int) async throws { try await Task.sleep(for: owed(bytes)) }
            var pacesRequests: Bool { true }
            func sending(_ bytes: Int) async throws -> Duration { owed(bytes) }
            func finished() {}
        }

        func intercept(_ context: ServerContext, next: ((any CallByteMeter)?) async throws -> Void) async throws {
            try await next(Meter(rate: rate))
        }
    }

    static let rate = 256 * 1024
    static let size = 3 << 20
    /// Shorter than a message's time at the rate (12 s), longer than a step.
    static let idle = Duration.seconds(6)

    static var options: TestServer.Options {
        var options = TestServer.Options()
        options.interceptor = Pacing(rate: rate)
        return options
    }

    @Test func aPacedRequestKeepsItsClientFromTakingItForStalled() async throws {
        try await withServer(Self.options) { _, transport in
            let started = ContinuousClock.now
            let response = try await RPCClient(transport: transport).echo.clientStreamEcho(
                options: CallOptions(idleTimeout: Self.idle)
            ) { writer in
                try await writer.write(.with { $0.payload = Data(repeating: 7, count: Self.size) })
            }
            #expect(response.receivedBytes == Int64(Self.size))
            #expect(ContinuousClock.now - started >= .seconds(10), "the request was not paced")
        }
    }

    @Test func aPacedResponseKeepsItsClientFromTakingItForStalled() async throws {
        try await withServer(Self.options) { _, transport in
            let started = ContinuousClock.now
            let received = try await RPCClient(transport: transport).echo.serverStreamEcho(
                .with {
                    $0.responseSize = Int32(Self.size)
                    $0.responseCount = 1
                },
                options: CallOptions(idleTimeout: Self.idle)
            ) { responses in
                var total = 0
                for try await response in responses { total += response.payload.count }
                return total
            }
            #expect(received == Self.size)
            #expect(ContinuousClock.now - started >= .seconds(10), "the response was not paced")
        }
    }
}
