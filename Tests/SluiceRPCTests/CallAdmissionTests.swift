import SluiceRPC
import SwiftProtobuf
import Synchronization
import Testing

/// The dispatcher's admission hook: a refusal ends the call before its handler runs, with its
/// trailers; an admitted call's message bytes pass through the meter, which ends with the call.
@Suite struct CallAdmissionTests {
    typealias Text = Google_Protobuf_StringValue

    /// Refuses every call with a pushback.
    struct Refusing: CallAdmission {
        func admit(_ context: ServerContext) async throws -> (any CallByteMeter)? {
            throw RPCError(.resourceExhausted, "slow down", trailers: ["grpc-retry-pushback-ms": .string("250")])
        }
    }

    final class CountingMeter: CallByteMeter {
        let received = Atomic<Int>(0)
        let sent = Atomic<Int>(0)
        let finishedCalls = Atomic<Int>(0)

        func received(_ bytes: Int) async throws { received.add(bytes, ordering: .relaxed) }
        func sent(_ bytes: Int) async throws { sent.add(bytes, ordering: .relaxed) }
        func finished() { finishedCalls.add(1, ordering: .relaxed) }
    }

    struct Metering: CallAdmission {
        let meter: CountingMeter
        func admit(_ context: ServerContext) async throws -> (any CallByteMeter)? { meter }
    }

    static func dispatcher(_ admission: any CallAdmission) -> CallDispatcher {
        var router = Router()
        router.registerUnary(CallDispatcherTests.unary) { (request: Text, _: ServerContext) -> Text in
            .with { $0.value = request.value.uppercased() }
        }
        return CallDispatcher(router: router, admission: admission)
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
        #expect(meter.received.load(ordering: .relaxed) == request.count)
        #expect(meter.sent.load(ordering: .relaxed) == CallDispatcherTests.encode("HELLO").count)
        #expect(meter.finishedCalls.load(ordering: .relaxed) == 1)
    }
}
