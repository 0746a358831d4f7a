import SluiceRPC
import SwiftProtobuf
import Synchronization
import Testing

/// The dispatcher's interceptor hook: a refusal ends the call before its handler runs, with its
/// trailers; an admitted call's message bytes pass through the meter, which ends with the call;
/// a value put in the context reaches the handler; what a handler throws, mid-stream too,
/// passes back through the interceptor, which may map it.
@Suite struct CallInterceptorTests {
    typealias Text = Google_Protobuf_StringValue

    /// Refuses every call with a pushback.
    struct Refusing: CallInterceptor {
        func intercept(_ context: ServerContext, next: ((any CallByteMeter)?) async throws -> Void) async throws {
            throw RPCError(.resourceExhausted, "slow down", trailers: ["grpc-retry-pushback-ms": .string("250")])
        }
    }

    final class CountingMeter: CallByteMeter {
        let received = Atomic<Int>(0)
        let sent = Atomic<Int>(0)
        let finishedCalls = Atomic<Int>(0)

        func received(_ bytes: Int) async throws -> Duration {
            received.add(bytes, ordering: .relaxed)
            return .zero
        }
        var pacesRequests: Bool { false }
        var requestStep: Int? { nil }
        var responseStep: Int? { nil }
        func sending(_ bytes: Int) async throws -> Duration {
            sent.add(bytes, ordering: .relaxed)
            return .zero
        }
        func finished() { finishedCalls.add(1, ordering: .relaxed) }
    }

    struct Metering: CallInterceptor {
        let meter: CountingMeter
        func intercept(_ context: ServerContext, next: ((any CallByteMeter)?) async throws -> Void) async throws {
            try await next(meter)
        }
    }

    /// What `Resolving` hands the handler.
    enum Greeting: ServerContextKey {
        typealias Value = String
    }

    /// Puts a greeting in the context, and turns a `Lost` thrown below it into NOT_FOUND.
    struct Resolving: CallInterceptor {
        func intercept(_ context: ServerContext, next: ((any CallByteMeter)?) async throws -> Void) async throws {
            context[Greeting.self] = "hello from the interceptor"
            do {
                try await next(nil)
            } catch let error as Lost {
                throw RPCError(.notFound, "mapped: \(error.what)")
            }
        }
    }

    struct Lost: Error {
        var what: String
    }

    static func dispatcher(_ interceptor: any CallInterceptor) -> CallDispatcher {
        var router = Router()
        router.registerUnary(CallDispatcherTests.unary) { (request: Text, context: ServerContext) -> Text in
            .with { $0.value = context[Greeting.self] ?? request.value.uppercased() }
        }
        router.registerUnary(CallDispatcherTests.fail) { (_: Text, _: ServerContext) -> Text in
            throw Lost(what: "before any message")
        }
        router.registerServerStreaming(CallDispatcherTests.serverStream) {
            (_: Text, writer: ServerResponseWriter<Text>, _: ServerContext) in
            try await writer.write(.with { $0.value = "first" })
            throw Lost(what: "mid-stream")
        }
        return CallDispatcher(router: router, interceptor: interceptor)
    }

    @Test func aRefusedCallNeverReachesItsHandlerAndCarriesTheTrailers() async throws {
        let stream = await CallDispatcherTests.call(Self.dispatcher(Refusing()), CallDispatcherTests.head("/test.Echo/Unary"))
        CallDispatcherTests.expectTrailersOnly(stream, .resourceExhausted)
        guard case .headers(let fields, endStream: true)? = stream.sent.first else { return }
        #expect(fields.first(named: "grpc-retry-pushback-ms") == "250")
        #expect(try stream.responseMessages().isEmpty)
    }

    @Test func anAdmittedCallsBytesAreMeteredAndTheMeterFinishes() async throws {
        let meter = CountingMeter()
        let request = CallDispatcherTests.encode("hello")
        let stream = await CallDispatcherTests.call(
            Self.dispatcher(Metering(meter: meter)), CallDispatcherTests.head("/test.Echo/Unary"), messages: [request])
        #expect(stream.statusCode == .ok)
        #expect(try stream.responseMessages().map(CallDispatcherTests.decode) == ["HELLO"])
        // Body bytes as they cross the transport, the gRPC prefix of each message too, both ways.
        #expect(meter.received.load(ordering: .relaxed) == request.count + 5)
        #expect(meter.sent.load(ordering: .relaxed) == CallDispatcherTests.encode("HELLO").count + 5)
        #expect(meter.finishedCalls.load(ordering: .relaxed) == 1)
    }

    @Test func aValueTheInterceptorPutsInTheContextReachesTheHandler() async throws {
        let stream = await CallDispatcherTests.call(Self.dispatcher(Resolving()), CallDispatcherTests.head("/test.Echo/Unary"))
        #expect(stream.statusCode == .ok)
        #expect(try stream.responseMessages().map(CallDispatcherTests.decode) == ["hello from the interceptor"])
    }

    @Test func theInterceptorMapsWhatAUnaryHandlerThrows() async throws {
        let stream = await CallDispatcherTests.call(Self.dispatcher(Resolving()), CallDispatcherTests.head("/test.Echo/Fail"))
        CallDispatcherTests.expectTrailersOnly(stream, .notFound)
        #expect(stream.statusMessage == "mapped: before any message")
    }

    @Test func theInterceptorMapsWhatAStreamingHandlerThrowsMidStream() async throws {
        let stream = await CallDispatcherTests.call(
            Self.dispatcher(Resolving()), CallDispatcherTests.head("/test.Echo/ServerStream"))
        #expect(try stream.responseMessages().map(CallDispatcherTests.decode) == ["first"])
        #expect(stream.statusCode == .notFound)
        #expect(stream.statusMessage == "mapped: mid-stream")
    }
}
