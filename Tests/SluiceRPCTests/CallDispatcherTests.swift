import SluiceRPC
import SwiftProtobuf
import Synchronization
import Testing

/// CallDispatcher over an in-memory ServerStream: request checks, routing, statuses,
/// deadlines and metadata, as a client would see them on the wire.
@Suite struct CallDispatcherTests {
    typealias Text = Google_Protobuf_StringValue

    static let unary = MethodDescriptor(service: "test.Echo", method: "Unary")
    static let fail = MethodDescriptor(service: "test.Echo", method: "Fail")
    static let serverStream = MethodDescriptor(service: "test.Echo", method: "ServerStream")
    static let collect = MethodDescriptor(service: "test.Echo", method: "Collect")

    /// The request head a transport hands over for a call to `path`, with `extra` fields.
    static func head(_ path: String, extra: [HeaderField] = []) -> ServerRequestHead {
        ServerRequestHead(
            path: path, fields: [HeaderField("user-agent", "test/1")] + extra,
            peer: PeerIdentity(subject: "CN=alice", commonName: "alice"), remoteAddress: "10.0.0.1:5000")
    }

    static func encode(_ text: String) -> [UInt8] {
        try! Text.with { $0.value = text }.serializedBytes()
    }

    static func decode(_ bytes: [UInt8]) throws -> String {
        try Text(serializedBytes: bytes).value
    }

    /// A dispatcher whose router holds the test methods plus whatever `configure` adds.
    static func dispatcher(
        maxReceiveMessageSize: Int = 4 << 20, summaries: Recorder<CallDispatcher.CallSummary>? = nil,
        _ configure: (inout Router) -> Void = { _ in }
    ) -> CallDispatcher {
        var router = Router()
        router.registerUnary(unary) { (request: Text, context: ServerContext) -> Text in
            .with { $0.value = request.value.uppercased() }
        }
        router.registerClientStreaming(collect) { (requests: ServerRequestStream<Text>, context: ServerContext) -> Text in
            var parts: [String] = []
            for try await request in requests { parts.append(request.value) }
            return .with { $0.value = parts.joined(separator: "|") }
        }
        configure(&router)
        return CallDispatcher(router: router, maxReceiveMessageSize: maxReceiveMessageSize) { summaries?.append($0) }
    }

    /// Runs one call whose request body is `messages`, framed, then ended.
    static func call(
        _ dispatcher: CallDispatcher, _ head: ServerRequestHead, messages: [[UInt8]] = [encode("hi")]
    ) async -> FakeServerStream {
        let stream = FakeServerStream()
        for message in messages { stream.deliver(try! MessageFramer.frame(message)) }
        stream.endRequests()
        await dispatcher.handle(head, stream: stream)
        #expect(stream.violations == [])
        #expect(stream.isEnded, "the call must end its stream")
        return stream
    }

    /// Checks that the stream was answered with one trailers-only HEADERS frame.
    static func expectTrailersOnly(
        _ stream: FakeServerStream, _ code: StatusCode,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(stream.sent.count == 1, "\(stream.sent)", sourceLocation: sourceLocation)
        guard case .headers(let fields, endStream: true)? = stream.sent.first else {
            Issue.record("expected one HEADERS frame ending the stream, got \(stream.sent)", sourceLocation: sourceLocation)
            return
        }
        #expect(fields.allSatisfy { !$0.name.hasPrefix(":") }, "the transport's own fields are its to add", sourceLocation: sourceLocation)
        #expect(fields.first(named: "grpc-status") == String(code.rawValue), sourceLocation: sourceLocation)
    }

    // MARK: Success

    @Test func unaryCallHasHeadersMessageAndOKTrailers() async throws {
        let stream = await Self.call(Self.dispatcher(), Self.head("/test.Echo/Unary"))
        #expect(stream.sent.count == 3, "\(stream.sent)")
        guard case .headers(let headers, endStream: false)? = stream.sent.first else {
            Issue.record("expected response headers first: \(stream.sent)")
            return
        }
        #expect(headers.allSatisfy { !$0.name.hasPrefix(":") && $0.name != "content-type" })
        #expect(headers.first(named: "grpc-accept-encoding") == "identity,gzip")
        #expect(headers.first(named: "grpc-status") == nil)
        #expect(try stream.responseMessages().map(Self.decode) == ["HI"])
        guard case .trailers(let trailers)? = stream.sent.last else {
            Issue.record("expected trailers last: \(stream.sent)")
            return
        }
        #expect(trailers.first(named: "grpc-status") == "0")
        #expect(trailers.first(named: "grpc-message") == nil)
        #expect(trailers.allSatisfy { !$0.name.hasPrefix(":") })
    }

    @Test func requestSplitIntoManyPiecesAndClientStreaming() async throws {
        let stream = FakeServerStream()
        let body = ["a", "", "ccc", String(repeating: "d", count: 1000)].flatMap { try! MessageFramer.frame(Self.encode($0)) }
        for start in stride(from: 0, to: body.count, by: 7) {
            stream.deliver(Array(body[start..<min(body.count, start + 7)]))
        }
        stream.endRequests()
        await Self.dispatcher().handle(Self.head("/test.Echo/Collect"), stream: stream)
        #expect(stream.statusCode == .ok)
        #expect(try stream.responseMessages().map(Self.decode) == ["a||ccc|" + String(repeating: "d", count: 1000)])
    }

    @Test func clientStreamingWithNoMessages() async throws {
        let stream = await Self.call(Self.dispatcher(), Self.head("/test.Echo/Collect"), messages: [])
        #expect(stream.statusCode == .ok)
        #expect(try stream.responseMessages().map(Self.decode) == [""])
    }

    @Test func gzipRequestIsDecompressed() async throws {
        let stream = FakeServerStream()
        stream.deliver(try MessageFramer.frame(Self.encode("squeezed"), compressor: .gzip))
        stream.endRequests()
        await Self.dispatcher().handle(
            Self.head("/test.Echo/Unary", extra: [HeaderField("grpc-encoding", "gzip")]), stream: stream)
        #expect(stream.statusCode == .ok)
        #expect(try stream.responseMessages().map(Self.decode) == ["SQUEEZED"])
    }

    // MARK: Rejected request heads

    @Test func unknownServiceAndUnknownMethodAreUnimplementedWithDistinctMessages() async throws {
        let dispatcher = Self.dispatcher()
        let service = await Self.call(dispatcher, Self.head("/no.Such/Unary"))
        Self.expectTrailersOnly(service, .unimplemented)
        #expect(service.statusMessage == "unknown service no.Such")

        let method = await Self.call(dispatcher, Self.head("/test.Echo/Nope"))
        Self.expectTrailersOnly(method, .unimplemented)
        #expect(method.statusMessage == "unknown method Nope for service test.Echo")

        let malformed = await Self.call(dispatcher, Self.head("/not-a-method"))
        Self.expectTrailersOnly(malformed, .unimplemented)
        #expect(malformed.statusMessage == "malformed method path '/not-a-method'")
    }

    @Test func unsupportedEncodingIsUnimplementedWithAcceptEncoding() async throws {
        let stream = await Self.call(
            Self.dispatcher(), Self.head("/test.Echo/Unary", extra: [HeaderField("grpc-encoding", "snappy")]))
        Self.expectTrailersOnly(stream, .unimplemented)
        #expect(stream.finalFields?.first(named: "grpc-accept-encoding") == "identity,gzip")
        #expect(stream.statusMessage?.contains("snappy") == true)
    }

    @Test(arguments: ["1x", "", "S", "-5m", "1.5S", "123456789012345678901S"])
    func malformedTimeoutIsInternal(_ timeout: String) async throws {
        let stream = await Self.call(
            Self.dispatcher(), Self.head("/test.Echo/Unary", extra: [HeaderField("grpc-timeout", timeout)]))
        Self.expectTrailersOnly(stream, .internal)
        #expect(stream.statusMessage == "malformed grpc-timeout '\(timeout)'")
    }

    // MARK: Request bodies the handler cannot use

    /// gRPC's status codes name a request cardinality violation UNIMPLEMENTED.
    @Test func unaryWithoutARequestIsUnimplemented() async throws {
        let stream = await Self.call(Self.dispatcher(), Self.head("/test.Echo/Unary"), messages: [])
        Self.expectTrailersOnly(stream, .unimplemented)
        #expect(stream.statusMessage == "expected one request message, received none")
    }

    @Test func unaryWithTwoRequestsIsUnimplemented() async throws {
        let stream = await Self.call(
            Self.dispatcher(), Self.head("/test.Echo/Unary"), messages: [Self.encode("a"), Self.encode("b")])
        Self.expectTrailersOnly(stream, .unimplemented)
        #expect(stream.statusMessage == "expected one request message, received more")
    }

    /// A request that does not decode is the client's mistake: INVALID_ARGUMENT saying what is
    /// wrong, not INTERNAL, which counts as the server failing.
    @Test func undecodableRequestIsInvalidArgument() async throws {
        let stream = await Self.call(Self.dispatcher(), Self.head("/test.Echo/Unary"), messages: [[0xFF, 0xFF, 0xFF]])
        Self.expectTrailersOnly(stream, .invalidArgument)
        #expect(stream.statusMessage?.contains("not a valid google.protobuf.StringValue") == true)
    }

    @Test func aStringThatIsNotUTF8IsInvalidArgument() async throws {
        // google.protobuf.StringValue field 1 (value) holding 0xFF.
        let stream = await Self.call(Self.dispatcher(), Self.head("/test.Echo/Unary"), messages: [[0x0A, 0x01, 0xFF]])
        Self.expectTrailersOnly(stream, .invalidArgument)
        #expect(stream.statusMessage?.contains("not UTF-8") == true, "\(stream.statusMessage ?? "")")
    }

    @Test func requestOverTheSizeLimitIsResourceExhausted() async throws {
        let stream = await Self.call(
            Self.dispatcher(maxReceiveMessageSize: 100), Self.head("/test.Echo/Unary"),
            messages: [Self.encode(String(repeating: "x", count: 200))])
        Self.expectTrailersOnly(stream, .resourceExhausted)
        #expect(stream.statusMessage?.contains("limit of 100 bytes") == true)
    }

    @Test func bodyEndingInsideAMessageIsInternal() async throws {
        let stream = FakeServerStream()
        stream.deliver(Array(try MessageFramer.frame(Self.encode("cut short")).dropLast(2)))
        stream.endRequests()
        await Self.dispatcher().handle(Self.head("/test.Echo/Unary"), stream: stream)
        Self.expectTrailersOnly(stream, .internal)
        #expect(stream.statusMessage?.contains("trailing bytes") == true)
    }

    @Test func resetRequestStreamFailsTheCall() async throws {
        let stream = FakeServerStream()
        stream.reset()
        await Self.dispatcher().handle(Self.head("/test.Echo/Unary"), stream: stream)
        #expect(stream.statusCode == .cancelled)
    }

    // MARK: Handler outcomes

    @Test func handlerErrorIsPercentEncodedInATrailersOnlyResponse() async throws {
        let message = "nö 100%\nthe end ✗"
        let dispatcher = Self.dispatcher { router in
            router.registerUnary(Self.fail) { (_: Text, _: ServerContext) -> Text in
                throw RPCError(.notFound, message)
            }
        }
        let stream = await Self.call(dispatcher, Self.head("/test.Echo/Fail"))
        Self.expectTrailersOnly(stream, .notFound)
        #expect(stream.finalFields?.first(named: "grpc-message") == "n%C3%B6 100%25%0Athe end %E2%9C%97")
        #expect(stream.statusMessage == message)
    }

    @Test func trailersOfAThrownRPCErrorReachTheClient() async throws {
        let dispatcher = Self.dispatcher { router in
            router.registerUnary(Self.fail) { (_: Text, _: ServerContext) -> Text in
                throw RPCError(.invalidArgument, "bad request", trailers: ["x-why": .string("because")])
            }
        }
        let stream = await Self.call(dispatcher, Self.head("/test.Echo/Fail"))
        Self.expectTrailersOnly(stream, .invalidArgument)
        #expect(stream.finalFields?.first(named: "x-why") == "because", "RPCError.trailers were dropped: \(stream.sent)")
    }

    @Test func otherErrorsAreUnknown() async throws {
        struct Oops: Error {}
        let dispatcher = Self.dispatcher { router in
            router.registerUnary(Self.fail) { (_: Text, _: ServerContext) -> Text in throw Oops() }
        }
        let stream = await Self.call(dispatcher, Self.head("/test.Echo/Fail"))
        Self.expectTrailersOnly(stream, .unknown)
    }

    @Test func concealedFailuresSendAGeneralMessageWithTheRequestIDAndLogTheCause() async throws {
        struct DatabaseBroke: Error, CustomStringConvertible { var description: String { "PostgreSQL error 22003: secret" } }
        let summaries = Recorder<CallDispatcher.CallSummary>()
        let dispatcher = Self.dispatcher(summaries: summaries) { router in
            router.registerUnary(Self.fail) { (_: Text, _: ServerContext) -> Text in
                throw ConcealedError(.unavailable, "the metadata database is unavailable", cause: DatabaseBroke())
            }
        }
        let stream = await Self.call(dispatcher, Self.head("/test.Echo/Fail"))
        Self.expectTrailersOnly(stream, .unavailable)
        let id = try #require(stream.finalFields?.first(named: "sluice-request-id"))
        #expect(stream.statusMessage == "the metadata database is unavailable; request id \(id)")
        let summary = try #require(summaries.values.first)
        #expect(summary.requestID == id)
        #expect(summary.cause == "PostgreSQL error 22003: secret")
    }

    @Test func theSummaryCountsBodyBytesBothWaysWithTheRequestIDTheClientGot() async throws {
        let summaries = Recorder<CallDispatcher.CallSummary>()
        let dispatcher = Self.dispatcher(summaries: summaries)
        let parts = ["a", "bb", String(repeating: "c", count: 300)]
        let stream = await Self.call(dispatcher, Self.head("/test.Echo/Collect"), messages: parts.map(Self.encode))
        let summary = try #require(summaries.values.first)
        let sentBody = stream.sent.reduce(0) { total, frame in
            if case .data(let bytes) = frame { return total + bytes.count }
            return total
        }
        #expect(summary.code == .ok)
        #expect(summary.receivedBytes == parts.map { try! MessageFramer.frame(Self.encode($0)).count }.reduce(0, +))
        #expect(summary.sentBytes == sentBody && sentBody > 300)
        let headers = try #require(stream.sent.first.flatMap { if case .headers(let f, _) = $0 { f } else { nil } })
        #expect(summary.requestID == headers.first(named: "sluice-request-id"))
    }

    @Test func aRefusedCallHasNoBytesAndNoRequestID() async throws {
        let summaries = Recorder<CallDispatcher.CallSummary>()
        let dispatcher = Self.dispatcher(summaries: summaries)
        let stream = await Self.call(dispatcher, Self.head("/made.up/Path"))
        Self.expectTrailersOnly(stream, .unimplemented)
        let summary = try #require(summaries.values.first)
        #expect(summary.sentBytes == 0 && summary.requestID == nil)
    }

    @Test func unknownErrorsShowNoInternalText() async throws {
        struct Oops: Error, CustomStringConvertible { var description: String { "internal detail" } }
        let dispatcher = Self.dispatcher { router in
            router.registerUnary(Self.fail) { (_: Text, _: ServerContext) -> Text in throw Oops() }
        }
        let stream = await Self.call(dispatcher, Self.head("/test.Echo/Fail"))
        #expect(stream.statusMessage?.contains("internal detail") == false)
        #expect(stream.statusMessage?.hasPrefix("internal error; request id ") == true)
    }

    @Test func failureAfterAMessageEndsWithTrailers() async throws {
        let dispatcher = Self.dispatcher { router in
            router.registerServerStreaming(Self.serverStream) { (request: Text, writer: ServerResponseWriter<Text>, context: ServerContext) in
                try await writer.write(.with { $0.value = "first" })
                try await writer.write(.with { $0.value = "second" })
                throw RPCError(.aborted, "stopped: 50%")
            }
        }
        let stream = await Self.call(dispatcher, Self.head("/test.Echo/ServerStream"))
        #expect(stream.sent.count == 4, "\(stream.sent)")
        guard case .headers(let headers, endStream: false)? = stream.sent.first,
              case .trailers(let trailers)? = stream.sent.last
        else {
            Issue.record("expected headers, data, trailers: \(stream.sent)")
            return
        }
        #expect(headers.first(named: "grpc-status") == nil)
        #expect(try stream.responseMessages().map(Self.decode) == ["first", "second"])
        #expect(trailers.first(named: "grpc-status") == String(StatusCode.aborted.rawValue))
        #expect(trailers.first(named: "grpc-message") == "stopped: 50%25")
    }

    @Test func metadataFromTheContextReachesHeadersAndTrailers() async throws {
        let seen = Recorder<Metadata>()
        let dispatcher = Self.dispatcher { router in
            router.registerServerStreaming(Self.serverStream) { (request: Text, writer: ServerResponseWriter<Text>, context: ServerContext) in
                seen.append(context.requestMetadata)
                context.addInitialMetadata(["x-initial": .string("one"), "x-initial-bin": .binary([0, 1, 2, 255])])
                context.addInitialMetadata(["grpc-sneaky": .string("dropped"), "content-type": .string("text/html")])
                context.addTrailingMetadata(["x-trailing": .string("two")])
                try await writer.write(.with { $0.value = "m" })
                // Too late for the headers, which went out with the first message.
                context.addInitialMetadata(["x-late": .string("never")])
                context.addTrailingMetadata(["x-trailing-bin": .binary([9, 8, 7])])
            }
        }
        // grpc-timeout is there to be kept out of the request metadata; an hour, so that a loaded
        // machine cannot end the call first (10 s did once, at load 13).
        let stream = await Self.call(
            dispatcher,
            Self.head("/test.Echo/ServerStream", extra: [
                HeaderField("x-request", "r"), HeaderField("x-request-bin", "AQID"), HeaderField("grpc-timeout", "1H"),
            ]))
        #expect(stream.statusCode == .ok)
        guard case .headers(let headers, endStream: false)? = stream.sent.first,
              case .trailers(let trailers)? = stream.sent.last
        else {
            Issue.record("expected headers ... trailers: \(stream.sent)")
            return
        }
        #expect(headers.first(named: "x-initial") == "one")
        #expect(headers.first(named: "x-initial-bin") == "AAEC/w")
        #expect(headers.first(named: "grpc-sneaky") == nil)
        #expect(headers.first(named: "content-type") == nil, "a handler cannot set the transport's content-type")
        #expect(headers.first(named: "x-late") == nil)
        #expect(trailers.first(named: "x-trailing") == "two")
        #expect(trailers.first(named: "x-trailing-bin") == "CQgH")
        #expect(trailers.first(named: "grpc-status") == "0")

        let request = try #require(seen.values.first)
        #expect(request.map(\.key) == ["x-request", "x-request-bin"])
        #expect(request.firstString("x-request") == "r")
        #expect(request.firstBytes("x-request-bin") == [1, 2, 3])
    }

    @Test func trailingMetadataIsSentWithAFailureToo() async throws {
        let dispatcher = Self.dispatcher { router in
            router.registerUnary(Self.fail) { (_: Text, context: ServerContext) -> Text in
                context.addInitialMetadata(["x-initial": .string("one")])
                context.addTrailingMetadata(["x-trailing": .string("two")])
                throw RPCError(.permissionDenied, "no")
            }
        }
        let stream = await Self.call(dispatcher, Self.head("/test.Echo/Fail"))
        Self.expectTrailersOnly(stream, .permissionDenied)
        #expect(stream.finalFields?.first(named: "x-trailing") == "two")
    }

    @Test func contextDescribesTheCall() async throws {
        let contexts = Recorder<ServerContext>()
        let dispatcher = Self.dispatcher { router in
            router.registerUnary(Self.fail) { (request: Text, context: ServerContext) -> Text in
                contexts.append(context)
                return request
            }
        }
        let before = ContinuousClock.now
        _ = await Self.call(dispatcher, Self.head("/test.Echo/Fail", extra: [HeaderField("grpc-timeout", "3S")]))
        _ = await Self.call(dispatcher, Self.head("/test.Echo/Fail"))
        let (timed, untimed) = (contexts.values[0], contexts.values[1])
        #expect(timed.method == Self.fail)
        #expect(timed.peer?.commonName == "alice")
        #expect(timed.remoteAddress == "10.0.0.1:5000")
        let deadline = try #require(timed.deadline)
        #expect(deadline >= before + .seconds(3))
        #expect(deadline <= ContinuousClock.now + .seconds(3))
        #expect(untimed.deadline == nil)
    }

    @Test func callSummaryIsReported() async throws {
        let summaries = Recorder<CallDispatcher.CallSummary>()
        let dispatcher = Self.dispatcher(summaries: summaries)
        _ = await Self.call(dispatcher, Self.head("/test.Echo/Unary"))
        _ = await Self.call(dispatcher, Self.head("/test.Echo/Missing"))
        let values = summaries.values
        #expect(values.count == 2)
        #expect(values.map(\.path) == ["/test.Echo/Unary", "/test.Echo/Missing"])
        #expect(values.map(\.code) == [.ok, .unimplemented])
        #expect(values.first?.peer?.commonName == "alice")
        #expect(values.first?.remoteAddress == "10.0.0.1:5000")
        #expect(values.last?.message == "unknown method Missing for service test.Echo")
    }

    // MARK: Deadlines and cancellation

    @Test func deadlineIsSentEvenWhileTheHandlerIgnoresCancellation() async throws {
        let gate = Gate()
        let handlerDone = Recorder<Bool>()
        let summaries = Recorder<CallDispatcher.CallSummary>()
        let dispatcher = Self.dispatcher(summaries: summaries) { router in
            router.registerUnary(Self.fail) { (request: Text, _: ServerContext) -> Text in
                await gate.wait()  // does not notice cancellation
                handlerDone.append(true)
                return request
            }
        }
        let stream = FakeServerStream()
        stream.deliver(try MessageFramer.frame(Self.encode("slow")))
        stream.endRequests()
        let head = Self.head("/test.Echo/Fail", extra: [HeaderField("grpc-timeout", "50m")])
        let call = Task { await dispatcher.handle(head, stream: stream) }

        #expect(await waitUntil { stream.isEnded }, "no status within 60 s of a 50 ms deadline")
        #expect(handlerDone.values.isEmpty, "the status must not wait for the handler")
        Self.expectTrailersOnly(stream, .deadlineExceeded)
        #expect(stream.statusMessage == "deadline exceeded")

        gate.open()
        await call.value
        #expect(handlerDone.values == [true])
        // The handler's late answer must not produce a second status or a message.
        #expect(stream.sent.count == 1, "\(stream.sent)")
        #expect(stream.violations == [])
        #expect(summaries.values.map(\.code) == [.deadlineExceeded])
    }

    /// The largest timeouts a client may send (eight digits of hours, as the spec allows,
    /// and the eighteen digits accepted beyond it) mean "practically never", and must not
    /// crash the server. Run in a child process because a failure traps.
    @Test(arguments: ["99999999H", "999999999999999999H", "999999999999999999S"])
    func hugeTimeoutsDoNotCrashTheServer(_ timeout: String) async {
        await #expect(processExitsWith: .success) { [timeout] in
            let stream = FakeServerStream()
            stream.deliver(try! MessageFramer.frame(CallDispatcherTests.encode("far")))
            stream.endRequests()
            let head = CallDispatcherTests.head("/test.Echo/Unary", extra: [HeaderField("grpc-timeout", timeout)])
            await CallDispatcherTests.dispatcher().handle(head, stream: stream)
            precondition(stream.statusCode == .ok, "\(stream.sent)")
        }
    }

    @Test func deadlineCancelsACooperativeHandler() async throws {
        let observed = Recorder<String>()
        let dispatcher = Self.dispatcher { router in
            router.registerServerStreaming(Self.serverStream) { (_: Text, writer: ServerResponseWriter<Text>, _: ServerContext) in
                try await writer.write(.with { $0.value = "before" })
                do {
                    try await Task.sleep(for: .seconds(60))
                } catch {
                    observed.append("\(type(of: error))")
                    throw error
                }
            }
        }
        let started = ContinuousClock.now
        let stream = await Self.call(
            dispatcher, Self.head("/test.Echo/ServerStream", extra: [HeaderField("grpc-timeout", "100m")]))
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(observed.values == ["CancellationError"])
        #expect(try stream.responseMessages().map(Self.decode) == ["before"])
        guard case .trailers(let trailers)? = stream.sent.last else {
            Issue.record("expected trailers after the message: \(stream.sent)")
            return
        }
        #expect(trailers.first(named: "grpc-status") == String(StatusCode.deadlineExceeded.rawValue))
    }

    /// However the handler ends once its call is cancelled (by the cancellation error, or by
    /// returning as a watch does), the call ends CANCELLED, and its summary says so.
    @Test(arguments: [false, true])
    func aCancelledCallEndsAndIsSummarizedCancelled(handlerReturns: Bool) async throws {
        let started = Recorder<Bool>()
        let summaries = Recorder<CallDispatcher.CallSummary>()
        let dispatcher = Self.dispatcher(summaries: summaries) { router in
            router.registerUnary(Self.fail) { (request: Text, _: ServerContext) -> Text in
                started.append(true)
                if handlerReturns {
                    try? await Task.sleep(for: .seconds(60))
                } else {
                    try await Task.sleep(for: .seconds(60))
                }
                return request
            }
        }
        let stream = FakeServerStream()
        stream.deliver(try MessageFramer.frame(Self.encode("x")))
        stream.endRequests()
        let call = Task { await dispatcher.handle(Self.head("/test.Echo/Fail"), stream: stream) }
        #expect(await waitUntil { !started.values.isEmpty })
        call.cancel()
        await call.value
        if handlerReturns {
            #expect(stream.statusCode == .cancelled)  // after the answer the handler returned
        } else {
            Self.expectTrailersOnly(stream, .cancelled)
        }
        #expect(summaries.values.map(\.code) == [.cancelled])
    }
}

extension CallDispatcherTests {
    /// A client-streaming call whose connection is lost mid-request: its pending read fails
    /// UNAVAILABLE, but the call was cut off by its client's side, not failed by the server.
    @Test func aCallWhoseConnectionWasLostMidRequestIsSummarizedAsCancelled() async throws {
        let started = Recorder<Bool>()
        let summaries = Recorder<CallDispatcher.CallSummary>()
        let dispatcher = Self.dispatcher(summaries: summaries) { router in
            router.registerClientStreaming(Self.fail) { (requests: ServerRequestStream<Text>, _: ServerContext) -> Text in
                started.append(true)
                for try await _ in requests {}
                return .init()
            }
        }
        let stream = FakeServerStream()
        stream.deliver(try MessageFramer.frame(Self.encode("x")))
        let call = Task { await dispatcher.handle(Self.head("/test.Echo/Fail"), stream: stream) }
        #expect(await waitUntil { !started.values.isEmpty })
        call.cancel()  // as the transport does first, then fails the I/O
        stream.loseConnection()
        await call.value
        #expect(summaries.values.map(\.code) == [.cancelled])
    }
}

/// A thread-safe list a test's handlers append to.
final class Recorder<Value: Sendable>: Sendable {
    private let storage = Mutex<[Value]>([])
    func append(_ value: Value) { storage.withLock { $0.append(value) } }
    var values: [Value] { storage.withLock { $0 } }
}
