import SluiceRPC
import SwiftProtobuf
import Synchronization
import Testing

/// A call with an idle timeout fails UNAVAILABLE and resets its stream when nothing moves for
/// that long — whatever the stream is stuck on — and runs as long as it needs while it moves.
@Suite struct IdleTimeoutTests {
    typealias Text = Google_Protobuf_StringValue

    static let method = MethodDescriptor(service: "test.Echo", method: "ServerStream")

    /// The server sends response headers, then `messages` messages `interval` apart, then
    /// nothing until the stream is reset (`blockSends`: it never takes a request byte).
    final class ScriptedTransport: ClientTransport, @unchecked Sendable {
        let authority = "test:1"
        let messages: Int
        let interval: Duration
        let blockSends: Bool
        let resets = Atomic<Int>(0)

        init(messages: Int, interval: Duration, blockSends: Bool = false) {
            (self.messages, self.interval, self.blockSends) = (messages, interval, blockSends)
        }

        func openStream(path: String, fields: [HeaderField]) async throws -> any ClientStream {
            ScriptedStream(transport: self)
        }
    }

    final class ScriptedStream: ClientStream, @unchecked Sendable {
        let transport: ScriptedTransport
        private let sent = Mutex(0)

        init(transport: ScriptedTransport) { self.transport = transport }

        func send(_ bytes: [UInt8], endStream: Bool) async throws {
            if transport.blockSends { try await Task.sleep(for: .seconds(3600)) }
        }

        func receive() async throws -> ClientStreamEvent? {
            let count = sent.withLock { count in
                defer { count += 1 }
                return count
            }
            if count == 0 { return .headers([HeaderField("content-type", "application/grpc")]) }
            guard count <= transport.messages else {
                try await Task.sleep(for: .seconds(3600))
                return nil
            }
            try await Task.sleep(for: transport.interval)
            let message = try Text.with { $0.value = "m\(count)" }.serializedBytes() as [UInt8]
            return .data(try MessageFramer.frame(message))
        }

        func cancel() { transport.resets.add(1, ordering: .relaxed) }
    }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// Reads the call's messages, counting them into `received`.
    static func read(_ transport: ScriptedTransport, idle: Duration, received: Counter = Counter()) async throws {
        try await RPCClient(transport: transport).serverStreaming(
            method, Text.with { $0.value = "go" }, options: CallOptions(idleTimeout: idle)
        ) { (responses: ClientResponseStream<Text>) in
            for try await _ in responses { received.value.add(1, ordering: .relaxed) }
        }
    }

    @Test func aStreamThatStopsFailsUnavailable() async throws {
        let transport = ScriptedTransport(messages: 2, interval: .milliseconds(10))
        let started = ContinuousClock.now
        let error = await #expect(throws: RPCError.self) { try await Self.read(transport, idle: .milliseconds(300)) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("stalled") == true, "\(String(describing: error))")
        // Without the idle timeout the call would wait out the script's hour; the bound tells
        // that apart from a machine so loaded that even a 300 ms timer fires late (it once took 24 s).
        #expect(ContinuousClock.now - started < .seconds(300))
        #expect(transport.resets.load(ordering: .relaxed) >= 1, "the stalled stream was not reset")
    }

    @Test func aRequestTheTransportNeverTakesFailsUnavailable() async throws {
        let transport = ScriptedTransport(messages: 0, interval: .zero, blockSends: true)
        let error = await #expect(throws: RPCError.self) { try await Self.read(transport, idle: .milliseconds(300)) }
        #expect(error?.code == .unavailable)
    }

    @Test func aStreamThatKeepsMovingRunsPastTheIdleTimeout() async throws {
        // 10 messages 1.2 s apart: 12 s in all, longer than the 8 s idle timeout, never idle
        // that long; the script then stalls, so the call ends by the timeout after all of them.
        // The gap leaves 6.8 s for a loaded machine to be late with a message (a full suite on
        // two cores once delayed one past a 900 ms timeout with 100 ms gaps, and another time
        // one by more than 3.4 s).
        let transport = ScriptedTransport(messages: 10, interval: .milliseconds(1200))
        let received = Counter()
        let error = await #expect(throws: RPCError.self) {
            try await Self.read(transport, idle: .seconds(8), received: received)
        }
        #expect(error?.code == .unavailable)
        #expect(received.value.load(ordering: .relaxed) == 10)
    }
}
