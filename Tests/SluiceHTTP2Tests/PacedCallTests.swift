import Foundation
import SluiceInterop
import SluiceProto
import SluiceRPC
import SluiceServer
import SluiceStore
import Synchronization
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
            func received(_ bytes: Int) async throws -> Duration { owed(bytes) }
            var pacesRequests: Bool { true }
            var requestStep: Int? { rate }
            func sending(_ bytes: Int) async throws -> Duration { owed(bytes) }
            var responseStep: Int? { rate }
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

    /// Meters every call against one principal's limiter, as sluiced does: its calls share the
    /// buckets, and each step is a share of the rate.
    struct SharedPacing: CallInterceptor {
        let limiter: PrincipalLimiter

        final class Meter: CallByteMeter {
            let limiter: PrincipalLimiter
            init(limiter: PrincipalLimiter) {
                self.limiter = limiter
                _ = limiter.enterCall(limit: 0)
            }

            func received(_ bytes: Int) async throws -> Duration { limiter.received(bytes) }
            var pacesRequests: Bool { limiter.pacesBytesIn }
            var requestStep: Int? { limiter.requestStep }
            func sending(_ bytes: Int) async throws -> Duration { limiter.sent(bytes) }
            var responseStep: Int? { limiter.responseStep }
            func finished() { limiter.leaveCall() }
        }

        func intercept(_ context: ServerContext, next: ((any CallByteMeter)?) async throws -> Void) async throws {
            try await next(Meter(limiter: limiter))
        }
    }

    static func sharing(_ rates: RateLimits) -> TestServer.Options {
        sharing(limiter(rates))
    }

    static func limiter(_ rates: RateLimits) -> PrincipalLimiter {
        let limiter = PrincipalLimiters().limiter(for: 1)
        limiter.update(rates)
        return limiter
    }

    static func sharing(_ limiter: PrincipalLimiter) -> TestServer.Options {
        var options = TestServer.Options()
        options.interceptor = SharedPacing(limiter: limiter)
        return options
    }

    /// Four uploads of one principal at 8 KiB/s: each DATA frame owes its stream seconds while
    /// the others pay theirs, and paid for frame by frame a stream waited 8 s with nothing
    /// taken; its window now goes back in steps of a share of the rate.
    @Test func pacedRequestsOfOnePrincipalAllKeepMoving() async throws {
        try await withServer(Self.sharing(RateLimits(bytesInPerSecond: 8 * 1024))) { _, transport in
            let client = RPCClient(transport: transport)
            try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await client.echo.clientStreamEcho(options: CallOptions(idleTimeout: Self.idle)) { writer in
                            try await writer.write(.with { $0.payload = Data(repeating: 1, count: 24 * 1024) })
                        }.receivedBytes
                    }
                }
                for try await received in group { #expect(received == 24 * 1024) }
            }
        }
    }

    /// A paced download cancelled partway owes only the step it was sending: charged for its
    /// whole message up front, it left the principal 15 s of debt for bytes that never went,
    /// which the next answer waited out. (The debt is read from the principal's bucket, not
    /// timed: a loaded machine only pays more of it back meanwhile.)
    @Test func aCancelledPacedResponseLeavesNoDebtForBytesNotSent() async throws {
        let limiter = Self.limiter(RateLimits(bytesOutPerSecond: 64 * 1024))
        try await withServer(Self.sharing(limiter)) { _, transport in
            let client = RPCClient(transport: transport)
            let download = Task {
                try await client.echo.serverStreamEcho(.with {
                    $0.responseSize = Int32(1 << 20)
                    $0.responseCount = 1
                }) { responses in
                    for try await _ in responses {}
                }
            }
            try await Task.sleep(for: .milliseconds(1500))
            download.cancel()
            _ = await download.result
            #expect(limiter.sent(0) < .seconds(5), "the principal owes for bytes never sent")
            let answer = try await client.echo.unaryEcho(.with { $0.payload = Data([1, 2, 3]) })
            #expect(answer.payload == Data([1, 2, 3]))
        }
    }

    /// Paces a call's first bytes, then stops (its principal's rate was cleared).
    struct PacingThenNot: CallInterceptor {
        final class Meter: CallByteMeter {
            let taken = Atomic<Int>(0)
            func received(_ bytes: Int) async throws -> Duration {
                taken.add(bytes, ordering: .relaxed)
                return .milliseconds(1)
            }
            var pacesRequests: Bool { taken.load(ordering: .relaxed) < 64 * 1024 }
            var requestStep: Int? { 16 * 1024 }
            func sending(_ bytes: Int) async throws -> Duration { .zero }
            var responseStep: Int? { nil }
            func finished() {}
        }

        func intercept(_ context: ServerContext, next: ((any CallByteMeter)?) async throws -> Void) async throws {
            try await next(Meter())
        }
    }

    /// Bytes taken while the call was paced, whose window was withheld, and handed out after it
    /// stopped being paced: their window must still go back, or the client, its window spent,
    /// stops for good (a rate cleared mid-upload stalled it until the server reset the stream).
    @Test func aCallThatStopsBeingPacedKeepsItsWindow() async throws {
        var options = TestServer.Options()
        options.http2.streamWindowSize = 1 << 20
        options.interceptor = PacingThenNot()
        try await withServer(options) { _, transport in
            let response = try await RPCClient(transport: transport).echo.clientStreamEcho(
                options: CallOptions(idleTimeout: Self.idle)
            ) { writer in
                for _ in 0..<3 { try await writer.write(.with { $0.payload = Data(repeating: 2, count: 1 << 20) }) }
            }
            #expect(response.receivedBytes == 3 << 20)
        }
    }
}
