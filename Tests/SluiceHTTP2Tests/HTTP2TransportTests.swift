import Foundation
import SluiceHTTP2
import SluiceInterop
import SluiceOpenSSL
import SluiceProto
import SluiceRPC
import SluiceServer
import Synchronization
import Testing

/// The HTTP/2 server and client transports end to end over real sockets: identity, flow
/// control, shutdown, reconnection and stream concurrency.
@Suite(.timeLimit(.minutes(1))) struct HTTP2TransportTests {
    // MARK: Identity and TLS

    @Test func verifiedClientIdentityReachesTheHandler() async throws {
        try await withServer { _, transport in
            #expect(transport.scheme == "https")
            let response = try await RPCClient(transport: transport).echo.unaryEcho(.with { $0.payload = Data("who".utf8) })
            #expect(response.payload == Data("who".utf8))
            #expect(response.peerIdentity == "CN=sluice-client;DNS=client.sluice.test")
        }
    }

    @Test func h2cCarriesNoIdentity() async throws {
        var options = TestServer.Options()
        options.tls = false
        try await withServer(options) { _, transport in
            let rpc = RPCClient(transport: transport)
            let response = try await rpc.echo.unaryEcho(.with { $0.payload = Data("plain".utf8) })
            #expect(response.payload == Data("plain".utf8))
            #expect(response.peerIdentity == "")
            let large = try await rpc.echo.unaryEcho(.with { $0.responseSize = 3 << 20 })
            #expect(large.payload == EchoPayload.generated(count: 3 << 20))
        }
    }

    @Test(arguments: ["other-client", "expired-client", nil] as [String?])
    func refusedClientCertificatesFailCallsWithUnavailable(_ identity: String?) async throws {
        try await withPrivateEventLoop { group in
            let server = try await TestServer.start(group: group)
            let transport = try server.makeTransport(identity: identity)
            let error = try await expectRPCError {
                _ = try await RPCClient(transport: transport).echo.unaryEcho(.init(), options: CallOptions(timeout: .seconds(20)))
            }
            #expect(error.code == .unavailable, "\(error)")
            #expect(server.server.stats.snapshot.activeCalls == 0)
            await transport.close()
            await server.shutdown()
        }
    }

    @Test func clientRefusesAServerWithTheWrongName() async throws {
        try await withPrivateEventLoop { group in
            let server = try await TestServer.start(group: group)
            let transport = try server.makeTransport(serverName: "not-the-server.example")
            let error = try await expectRPCError { _ = try await RPCClient(transport: transport).echo.unaryEcho(.init()) }
            #expect(error.code == .unavailable, "\(error)")
            #expect(error.message.contains("mismatch") || error.message.contains("certificate"), "\(error)")
            await transport.close()
            await server.shutdown()
        }
    }

    /// A connection refused during its TLS handshake must not disturb the other
    /// connections served by the same event loop thread.
    @Test func refusedConnectionDoesNotBreakOtherConnectionsOnItsEventLoop() async throws {
        try await withPrivateEventLoop { group in
            let server = try await TestServer.start(group: group)
            let good = try server.makeTransport()
            let rpc = RPCClient(transport: good)
            #expect(try await rpc.echo.unaryEcho(.with { $0.payload = Data("before".utf8) }).payload == Data("before".utf8))

            let refused = try server.makeTransport(identity: "other-client")
            let error = try await expectRPCError { _ = try await RPCClient(transport: refused).echo.unaryEcho(.init()) }
            #expect(error.code == .unavailable)

            do {
                let after = try await rpc.echo.unaryEcho(.with { $0.payload = Data("after".utf8) })
                #expect(after.payload == Data("after".utf8))
            } catch {
                Issue.record("a healthy connection failed after another one was refused: \(error)")
            }
            let fresh = try server.makeTransport()
            do {
                _ = try await RPCClient(transport: fresh).echo.unaryEcho(.init())
            } catch {
                Issue.record("a new connection failed after another one was refused: \(error)")
            }
            await refused.close()
            await fresh.close()
            await good.close()
            await server.shutdown()
        }
    }

    @Test func optionalClientCertificate() async throws {
        var options = TestServer.Options()
        options.requireClientCertificate = false
        let server = try await TestServer.start(options)
        let anonymous = try server.makeTransport(identity: nil)
        #expect(try await RPCClient(transport: anonymous).echo.unaryEcho(.init()).peerIdentity == "")
        let named = try server.makeTransport(identity: "client2")
        #expect(try await RPCClient(transport: named).echo.unaryEcho(.init()).peerIdentity
            == "CN=sluice-client2;DNS=client2.sluice.test")
        await anonymous.close()
        await named.close()
        await server.shutdown()
    }

    // MARK: Calls

    @Test func healthChecks() async throws {
        try await withServer { _, transport in
            let health = Grpc_Health_V1_HealthClient(RPCClient(transport: transport))
            #expect(try await health.check(.init()).status == .serving)
            #expect(try await health.check(.with { $0.service = Sluice_Interop_V1_EchoService.serviceName }).status == .serving)
            let error = try await expectRPCError { _ = try await health.check(.with { $0.service = "no.such.Service" }) }
            #expect(error.code == .notFound)
        }
    }

    /// A status message that echoes what the client sent is cut to what a header block holds:
    /// a 100 KB service name once made trailers nghttp2 would not send, and the call never ended.
    @Test func anUnknownServiceOfAnyLengthIsAnsweredInFewWords() async throws {
        try await withServer { _, transport in
            let health = Grpc_Health_V1_HealthClient(RPCClient(transport: transport))
            let name = String(repeating: "é", count: 50_000)
            let error = try await expectRPCError {
                _ = try await health.check(.with { $0.service = name }, options: CallOptions(timeout: .seconds(30)))
            }
            #expect(error.code == .notFound, "\(error)")
            #expect(error.message.utf8.count <= StatusFields.maxMessageBytes)
            #expect(error.message.hasPrefix("unknown service 'éé"))
        }
    }

    /// Metadata a handler adds that would make a header block too large to send (nghttp2 sends
    /// none over 64 KiB, and left such a call hanging) ends the call INTERNAL, saying so, in
    /// the headers or in the trailers.
    @Test(arguments: [true, false])
    func metadataTooLargeToSendEndsTheCallInternal(inTrailers: Bool) async throws {
        struct HugeMetadata: CallInterceptor {
            let inTrailers: Bool
            func intercept(_ context: ServerContext, next: ((any CallByteMeter)?) async throws -> Void) async throws {
                let huge: Metadata = ["x-huge": .string(String(repeating: "t", count: 100_000))]
                if context.method.service != Grpc_Health_V1_Health.serviceName {
                    if inTrailers { context.addTrailingMetadata(huge) } else { context.addInitialMetadata(huge) }
                }
                try await next(nil)
            }
        }
        let summaries = Recorder<CallDispatcher.CallSummary>()
        var options = TestServer.Options()
        options.interceptor = HugeMetadata(inTrailers: inTrailers)
        options.onCallEnded = { summaries.append($0) }
        try await withServer(options) { _, transport in
            let error = try await expectRPCError {
                _ = try await RPCClient(transport: transport).echo.unaryEcho(
                    .with { $0.payload = Data("x".utf8) }, options: CallOptions(timeout: .seconds(30)))
            }
            #expect(error.code == .internal, "\(error)")
            #expect(error.message.contains("more than the 16384 bytes a header block may hold"), "\(error)")
            #expect(await waitUntil { summaries.values.map(\.code) == [.internal] })
            // The connection carries on.
            #expect(try await Grpc_Health_V1_HealthClient(RPCClient(transport: transport)).check(.init()).status == .serving)
            #expect(await waitUntil { summaries.values.map(\.code) == [.internal, .ok] })
        }
    }

    @Test func gzipCompressedRequests() async throws {
        try await withServer { _, transport in
            let payload = Data(repeating: 0x5A, count: 1 << 20)
            let response = try await RPCClient(transport: transport).echo.unaryEcho(
                .with { $0.payload = payload }, options: CallOptions(compression: .gzip))
            #expect(response.payload == payload)
        }
    }

    @Test func unknownServiceIsUnimplemented() async throws {
        try await withServer { _, transport in
            let method = MethodDescriptor(service: "no.such.Service", method: "Call")
            let error = try await expectRPCError {
                let _: ClientResponse<EchoRequest> = try await RPCClient(transport: transport).unary(method, EchoRequest())
            }
            #expect(error.code == .unimplemented)
            #expect(error.message == "unknown service no.such.Service")
        }
    }

    @Test func serverLimitOnRequestSize() async throws {
        var options = TestServer.Options()
        options.maxReceiveMessageSize = 1000
        try await withServer(options) { _, transport in
            let rpc = RPCClient(transport: transport)
            #expect(try await rpc.echo.unaryEcho(.with { $0.payload = Data(count: 900) }).payload.count == 900)
            let error = try await expectRPCError { _ = try await rpc.echo.unaryEcho(.with { $0.payload = Data(count: 2000) }) }
            #expect(error.code == .resourceExhausted, "\(error)")
            // The connection is still good.
            #expect(try await rpc.echo.unaryEcho(.with { $0.payload = Data(count: 10) }).payload.count == 10)
        }
    }

    @Test func clientLimitOnResponseSize() async throws {
        try await withServer { _, transport in
            let error = try await expectRPCError {
                _ = try await RPCClient(transport: transport).echo.unaryEcho(
                    .with { $0.responseSize = 2000 }, options: CallOptions(maxReceiveMessageSize: 1000))
            }
            #expect(error.code == .resourceExhausted, "\(error)")
        }
    }

    @Test func oversizedRequestHeadersAreResourceExhausted() async throws {
        try await withServer { _, transport in
            let rpc = RPCClient(transport: transport)
            var metadata = Metadata()
            metadata.add("x-large", String(repeating: "h", count: 20 * 1024))
            let error = try await expectRPCError {
                _ = try await rpc.echo.unaryEcho(.init(), options: CallOptions(metadata: metadata))
            }
            #expect(error.code == .resourceExhausted, "\(error)")
            // Only that stream failed.
            #expect(try await rpc.echo.unaryEcho(.with { $0.payload = Data([1]) }).payload == Data([1]))
        }
    }

    /// 2,000 small fields: a header list of ~90 KB, past four times the limit, in a block
    /// small enough to send. The server stops looking at the block there, yet answers it
    /// like any oversized list (it used to reset the stream with INTERNAL_ERROR instead).
    @Test func headerListFarPastTheLimitIsResourceExhaustedToo() async throws {
        try await withServer { _, transport in
            let rpc = RPCClient(transport: transport)
            var metadata = Metadata()
            for index in 0..<2000 { metadata.add("x-f\(index)", "v") }
            let error = try await expectRPCError {
                _ = try await rpc.echo.unaryEcho(.init(), options: CallOptions(metadata: metadata))
            }
            #expect(error.code == .resourceExhausted, "\(error)")
            #expect(error.message.contains("exceed the limit of 16384 bytes"), "\(error)")
            // Only that stream failed.
            #expect(try await rpc.echo.unaryEcho(.with { $0.payload = Data([1]) }).payload == Data([1]))
        }
    }

    /// The deadline passes while the handler is surely running (it has already answered
    /// once), so the server must cancel it. The deadline leaves the first answer time to
    /// arrive on a loaded machine (20 s: a full suite on two cores once kept the first answer
    /// past 8 s): a deadline that passed before it would end a call whose handler never learnt
    /// its tag (or never ran), and prove nothing about cancelling one.
    @Test func clientDeadlineCancelsTheServerHandler() async throws {
        try await withServer { server, transport in
            let answered = Recorder<Bool>()
            let error = try await expectRPCError {
                try await RPCClient(transport: transport).echo.bidiEcho(options: CallOptions(timeout: .seconds(20))) {
                    requests, responses in
                    try await requests.write(.with { $0.payload = Data("first".utf8); $0.tag = "deadline-tag" })
                    var iterator = responses.makeAsyncIterator()
                    answered.append(try await iterator.next()?.payload == Data("first".utf8))
                    try await requests.write(.with { $0.delayMs = 60_000 })
                    _ = try await iterator.next()
                }
            }
            #expect(answered.values == [true], "the first request was answered before the deadline")
            #expect(error.code == .deadlineExceeded, "\(error)")
            #expect(await waitUntil { server.echo.cancelled.contains("deadline-tag") }, "tags: \(server.echo.cancelled)")
        }
    }

    // MARK: Flow control

    /// The handler stops reading for two seconds after the first message; the client's 32
    /// writes of 1 MiB must wait for it, and the server must never hold more than the
    /// stream window for the call.
    @Test func slowHandlerBackpressuresTheSender() async throws {
        var options = TestServer.Options()
        options.http2.streamWindowSize = 1 << 20
        try await withServer(options) { server, transport in
            let chunk = Data(repeating: 0xA5, count: 1 << 20)
            let writesDone = Recorder<ContinuousClock.Instant>()
            let response = try await RPCClient(transport: transport).echo.clientStreamEcho(
                options: CallOptions(timeout: .seconds(50))
            ) { writer in
                for index in 0..<32 {
                    try await writer.write(.with {
                        $0.payload = chunk
                        if index == 0 { $0.pauseReadingMs = 2000 }
                    })
                    writesDone.append(.now)
                }
            }
            #expect(response.receivedMessages == 32)
            #expect(response.receivedBytes == 32 << 20)
            let snapshot = server.server.stats.snapshot
            #expect(snapshot.maxBufferedStreamBytes <= 1 << 20, "\(snapshot.maxBufferedStreamBytes) bytes held for one stream")
            #expect(snapshot.maxBufferedStreamBytes > 0)
            // Only flow control can have held the writer back while the handler slept:
            // 32 MiB cannot all be accepted in less than the pause.
            let times = writesDone.values
            #expect(times.count == 32)
            if let first = times.first, let last = times.last {
                #expect(last - first >= .milliseconds(1500), "all writes done within \(last - first)")
            }
            let stats = try await RPCClient(transport: transport).echo.getStats(.init())
            #expect(stats.maxBufferedStreamBytes == Int64(snapshot.maxBufferedStreamBytes))
            #expect(stats.streamWindowBytes == 1 << 20)
        }
    }

    /// Four connections of four streams each, whose handlers stop reading for 1.5 s after
    /// their first message: flow control alone lets them hold sixteen stream windows (16 MiB).
    /// Past the process's bound, connections that hold unread bytes stop reading, so the
    /// process holds little more than the bound; every call still completes, and nothing is
    /// left counted once they have.
    @Test func busyConnectionsStopReadingPastTheProcessBound() async throws {
        var options = TestServer.Options()
        options.http2.streamWindowSize = 1 << 20
        options.http2.connectionWindowSize = 8 << 20
        options.unreadRequestBytesLimit = 2 << 20
        let server = try await TestServer.start(options)
        let transports = try (0..<4).map { _ in try server.makeTransport() }
        let chunk = Data(repeating: 0x5A, count: 256 << 10)
        try await withThrowingTaskGroup(of: Int64.self) { group in
            for transport in transports {
                for _ in 0..<4 {
                    group.addTask {
                        try await RPCClient(transport: transport).echo.clientStreamEcho(
                            options: CallOptions(timeout: .seconds(60))
                        ) { writer in
                            for index in 0..<16 {
                                try await writer.write(.with {
                                    $0.payload = chunk
                                    if index == 0 { $0.pauseReadingMs = 1500 }
                                })
                            }
                        }.receivedBytes
                    }
                }
            }
            for try await received in group { #expect(received == 16 * Int64(chunk.count)) }
        }
        let unread = server.server.unreadRequests
        #expect(unread.peak > 0)
        // The bound, plus at most a read burst per connection crossing it and one held read a second.
        #expect(unread.peak <= (2 << 20) + 4 * (1 << 20), "\(unread.peak) unread request bytes at the peak")
        #expect(await waitUntil { unread.current == 0 }, "\(unread.current) bytes still counted")
        for transport in transports { await transport.close() }
        await server.shutdown()
    }

    // MARK: Shutdown

    @Test(arguments: [true, false])
    func gracefulShutdownLetsRunningCallsFinish(tls: Bool) async throws {
        var options = TestServer.Options()
        options.tls = tls
        let server = try await TestServer.start(options)
        let transport = try server.makeTransport()
        let rpc = RPCClient(transport: transport)
        let slow = Task {
            try await rpc.echo.unaryEcho(.with { $0.delayMs = 1500; $0.payload = Data("slow".utf8) })
        }
        #expect(await waitUntil { server.server.stats.snapshot.activeCalls == 1 })
        let shutdown = Task { await server.shutdown(drainTimeout: .seconds(10)) }

        let result = await slow.result
        #expect((try? result.get())?.payload == Data("slow".utf8), "the slow call failed: \(result)")

        let error = try await expectRPCError { _ = try await rpc.echo.unaryEcho(.init()) }
        #expect(error.code == .unavailable, "\(error)")

        await shutdown.value
        #expect(server.server.stats.snapshot.openConnections == 0)
        #expect(server.server.stats.snapshot.activeCalls == 0)
        await transport.close()
    }

    /// The call has surely reached its handler (it has answered once) before the shutdown
    /// starts: a handler task that had not yet run when the connection closed would never
    /// learn its tag, on a machine busy enough to delay it past the drain timeout.
    @Test func drainTimeoutCancelsCallsThatDoNotFinish() async throws {
        let server = try await TestServer.start()
        let transport = try server.makeTransport()
        let rpc = RPCClient(transport: transport)
        let answered = Recorder<Bool>()
        let stuck = Task {
            try await rpc.echo.bidiEcho { requests, responses in
                try await requests.write(.with { $0.payload = Data("first".utf8); $0.tag = "drain-timeout" })
                var iterator = responses.makeAsyncIterator()
                answered.append(try await iterator.next()?.payload == Data("first".utf8))
                try await requests.write(.with { $0.delayMs = 60_000 })
                _ = try await iterator.next()
            }
        }
        #expect(await waitUntil(timeout: .seconds(30)) { !answered.values.isEmpty })
        #expect(answered.values == [true])

        let started = ContinuousClock.now
        await server.shutdown(drainTimeout: .seconds(1))
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .seconds(1), "shutdown returned before the drain timeout: \(elapsed)")
        #expect(elapsed < .seconds(20), "shutdown took \(elapsed)")

        let result = await stuck.result
        #expect(throws: RPCError.self) { try result.get() }
        #expect(await waitUntil { server.echo.cancelled.contains("drain-timeout") }, "tags: \(server.echo.cancelled)")
        #expect(await waitUntil { server.server.stats.snapshot.activeCalls == 0 })
        await transport.close()
    }

    @Test func transportReconnectsAfterTheServerRestarts() async throws {
        let first = try await TestServer.start()
        let transport = try first.makeTransport()
        let rpc = RPCClient(transport: transport)
        #expect(try await rpc.echo.unaryEcho(.with { $0.payload = Data("one".utf8) }).payload == Data("one".utf8))

        await first.shutdown(drainTimeout: .seconds(5))
        let down = try await expectRPCError { _ = try await rpc.echo.unaryEcho(.init()) }
        #expect(down.code == .unavailable, "\(down)")

        var options = TestServer.Options()
        options.port = first.port
        let second = try await TestServer.start(options)
        #expect(second.port == first.port)
        #expect(try await rpc.echo.unaryEcho(.with { $0.payload = Data("two".utf8) }).payload == Data("two".utf8))
        #expect(second.server.stats.snapshot.openConnections == 1)
        await transport.close()
        await second.shutdown()
    }

    // MARK: Concurrency

    @Test func twoHundredConcurrentUnaryCallsOnOneConnection() async throws {
        try await withServer { server, transport in
            try await Self.concurrentCalls(200, transport: transport)
            #expect(server.server.stats.snapshot.openConnections == 1)
        }
    }

    /// More calls than the server's stream limit, on a connection that has just been made
    /// (before the client can have seen the server's SETTINGS): the extra streams must wait
    /// in nghttp2's queue, not fail.
    /// Whether the burst beats the server's SETTINGS is a race, so it is run on several
    /// fresh connections.
    @Test(arguments: [true, false])
    func callsBeyondTheStreamLimitAreQueuedOnAFreshConnection(tls: Bool) async throws {
        var options = TestServer.Options()
        options.tls = tls
        options.http2.maxConcurrentStreams = 8
        let server = try await TestServer.start(options)
        for _ in 0..<4 {
            let transport = try server.makeTransport()
            try await Self.concurrentCalls(64, delayMs: 20, transport: transport)
            await transport.close()
        }
        await server.shutdown()
    }

    @Test func callsBeyondTheStreamLimitAreQueuedOnAnEstablishedConnection() async throws {
        var options = TestServer.Options()
        options.http2.maxConcurrentStreams = 8
        try await withServer(options) { server, transport in
            _ = try await RPCClient(transport: transport).echo.unaryEcho(.init())
            try await Self.concurrentCalls(64, delayMs: 20, transport: transport)
            #expect(server.server.stats.snapshot.openConnections == 1)
        }
    }

    static func concurrentCalls(_ count: Int, delayMs: Int32 = 0, transport: HTTP2ClientTransport) async throws {
        let echo = RPCClient(transport: transport).echo
        let failures = Recorder<String>()
        await withTaskGroup(of: Void.self) { group in
            for call in 0..<count {
                group.addTask {
                    let payload = Data("call \(call)".utf8)
                    do {
                        let response = try await echo.unaryEcho(.with { $0.payload = payload; $0.delayMs = delayMs })
                        if response.payload != payload { failures.append("call \(call): another call's payload") }
                    } catch {
                        failures.append("call \(call): \(error)")
                    }
                }
            }
        }
        #expect(failures.values.isEmpty, "\(failures.values.count) of \(count) failed, first: \(failures.values.prefix(3))")
    }
}

/// A thread-safe list tests append to from many tasks.
final class Recorder<Value: Sendable>: Sendable {
    private let storage = Mutex<[Value]>([])
    func append(_ value: Value) { storage.withLock { $0.append(value) } }
    var values: [Value] { storage.withLock { $0 } }
}
