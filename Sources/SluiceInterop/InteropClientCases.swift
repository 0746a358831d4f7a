import Foundation
import SluiceProto
import SluiceRPC

/// The interop test cases Sluice's Swift client runs against an EchoService server
/// (Sluice's own or a stock gRPC one), by name.
public enum InteropClientCases {
    /// Every case, in the order a full run takes them.
    public static let allCases = [
        "unary", "client_streaming", "server_streaming", "bidi", "large_unary",
        "concurrent_streams", "metadata", "status_unicode", "deadline_exceeded",
        "cancellation", "unimplemented", "oversize_request", "health",
    ]

    /// The tag the cancellation case puts on its call; the server records it in GetStats.
    public static let cancellationTag = "swift-cancel"
}

/// A case that did not see what it expected.
public struct InteropCaseFailure: Error, CustomStringConvertible {
    public var caseName: String
    public var message: String

    public var description: String { "interop case \(caseName) failed: \(message)" }
}

/// Runs one case of `InteropClientCases.allCases` over `client`; throws
/// `InteropCaseFailure` (or the call's error) when it fails.
public func runInteropCase(_ name: String, client: RPCClient) async throws {
    let cases = InteropCaseRunner(name: name, rpc: client)
    switch name {
    case "unary": try await cases.unary()
    case "client_streaming": try await cases.clientStreaming()
    case "server_streaming": try await cases.serverStreaming()
    case "bidi": try await cases.bidi()
    case "large_unary": try await cases.largeUnary()
    case "concurrent_streams": try await cases.concurrentStreams()
    case "metadata": try await cases.metadata()
    case "status_unicode": try await cases.statusUnicode()
    case "deadline_exceeded": try await cases.deadlineExceeded()
    case "cancellation": try await cases.cancellation()
    case "unimplemented": try await cases.unimplemented()
    case "oversize_request": try await cases.oversizeRequest()
    case "health": try await cases.health()
    default:
        throw InteropCaseFailure(
            caseName: name, message: "no such case; known: \(InteropClientCases.allCases.joined(separator: ", "))")
    }
}

/// The cases themselves, sharing a client and the failure reporting.
private struct InteropCaseRunner: Sendable {
    typealias Request = Sluice_Interop_V1_EchoRequest
    typealias Response = Sluice_Interop_V1_EchoResponse

    let name: String
    let rpc: RPCClient
    var echo: Sluice_Interop_V1_EchoServiceClient { Sluice_Interop_V1_EchoServiceClient(rpc) }
    /// Generous, so a slow machine does not fail a case that is not about deadlines.
    let options = CallOptions(timeout: .seconds(60))

    func unary() async throws {
        let payload = pattern(1000, seed: 7)
        let response = try await echo.unaryEcho(.with { $0.payload = payload }, options: options)
        try expect(response.payload == payload, "the payload came back as \(response.payload.count) different bytes")
    }

    func clientStreaming() async throws {
        let sizes = [27182, 8, 1828, 45904]
        let response = try await echo.clientStreamEcho(options: options) { writer in
            for (index, size) in sizes.enumerated() {
                try await writer.write(.with { $0.payload = pattern(size, seed: index) })
            }
        }
        try expect(response.receivedMessages == Int32(sizes.count), "received_messages \(response.receivedMessages)")
        try expect(response.receivedBytes == Int64(sizes.reduce(0, +)), "received_bytes \(response.receivedBytes)")
    }

    func serverStreaming() async throws {
        let sizes = try await echo.serverStreamEcho(
            .with { $0.responseCount = 4; $0.responseSize = 31415 }, options: options
        ) { responses in
            try await responses.reduce(into: [Int]()) { $0.append($1.payload.count) }
        }
        try expect(sizes == [31415, 31415, 31415, 31415], "response sizes \(sizes)")
    }

    func bidi() async throws {
        let name = self.name
        try await echo.bidiEcho(options: options) { requests, responses in
            var iterator = responses.makeAsyncIterator()
            for (index, size) in [31415, 9, 2653, 58979].enumerated() {
                let payload = pattern(size, seed: index)
                try await requests.write(.with { $0.payload = payload })
                guard let response = try await iterator.next() else {
                    throw InteropCaseFailure(caseName: name, message: "the stream ended after \(index) responses")
                }
                guard response.payload == payload, response.receivedMessages == Int32(index + 1) else {
                    throw InteropCaseFailure(caseName: name, message: "response \(index) does not echo request \(index)")
                }
            }
            try await requests.finish()
            guard try await iterator.next() == nil else {
                throw InteropCaseFailure(caseName: name, message: "a response came after the last request")
            }
        }
    }

    func largeUnary() async throws {
        let size = 4 * 1024 * 1024 - 64
        let response = try await echo.unaryEcho(
            .with { $0.payload = pattern(size, seed: 3); $0.responseSize = Int32(size) }, options: options)
        try expect(response.payload.count == size, "response payload of \(response.payload.count) bytes")
    }

    func concurrentStreams() async throws {
        let echo = self.echo
        let options = self.options
        let name = self.name
        try await withThrowingTaskGroup(of: Void.self) { group in
            for call in 0..<128 {
                group.addTask {
                    let payload = Data("call \(call):".utf8) + pattern(call * 97, seed: call)
                    let response = try await echo.unaryEcho(.with { $0.payload = payload }, options: options)
                    guard response.payload == payload else {
                        throw InteropCaseFailure(caseName: name, message: "call \(call) received another call's payload")
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    func metadata() async throws {
        let binary = (0...255).map { UInt8($0) }
        var options = self.options
        options.metadata.add("x-echo-initial", "hello")
        options.metadata.add("x-echo-trailing-bin", bytes: binary)
        let response: ClientResponse<Response> = try await rpc.unary(
            Sluice_Interop_V1_EchoService.Method.unaryEcho, Request.with { $0.payload = Data("m".utf8) },
            options: options)
        let initial = response.initialMetadata.firstString("x-echo-initial")
        try expect(initial == "hello", "initial metadata x-echo-initial is \(initial ?? "absent")")
        let trailing = response.trailingMetadata.firstBytes("x-echo-trailing-bin")
        try expect(trailing == binary, "trailing metadata x-echo-trailing-bin is \(trailing.map { "\($0.count) other bytes" } ?? "absent")")
    }

    func statusUnicode() async throws {
        let message = "précondition ✗ 失败"
        let request = Request.with {
            $0.respondWithStatus = .with { $0.code = 9; $0.message = message }
        }
        let error = try await expectFailure { _ = try await echo.unaryEcho(request, options: options) }
        try expect(
            error.code == .failedPrecondition && error.message == message,
            "expected FAILED_PRECONDITION '\(message)', got \(error)")
    }

    func deadlineExceeded() async throws {
        let request = Request.with { $0.delayMs = 2000; $0.tag = "swift-deadline" }
        let error = try await expectFailure {
            _ = try await echo.unaryEcho(request, options: CallOptions(timeout: .milliseconds(200)))
        }
        try expect(error.code == .deadlineExceeded, "expected DEADLINE_EXCEEDED, got \(error)")
    }

    /// Leaves a bidirectional call after one exchange without ending it; the client
    /// resets the stream, and the server records the call's tag as cancelled.
    func cancellation() async throws {
        let name = self.name
        let tag = InteropClientCases.cancellationTag
        try await echo.bidiEcho(options: options) { requests, responses in
            try await requests.write(.with { $0.payload = Data("cancel me".utf8); $0.tag = tag })
            var iterator = responses.makeAsyncIterator()
            guard try await iterator.next()?.payload == Data("cancel me".utf8) else {
                throw InteropCaseFailure(caseName: name, message: "no echo before cancelling")
            }
        }
        // The server notices the reset on its own schedule; give it a few seconds.
        let deadline = ContinuousClock.now + .seconds(5)
        while true {
            let stats = try await echo.getStats(.init(), options: options)
            if stats.cancelledTags.contains(tag) { return }
            try expect(ContinuousClock.now < deadline, "the server did not record tag '\(tag)' as cancelled")
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    func unimplemented() async throws {
        let method = MethodDescriptor(service: Sluice_Interop_V1_EchoService.serviceName, method: "NoSuchMethod")
        let error = try await expectFailure {
            let _: ClientResponse<Response> = try await rpc.unary(method, Request(), options: options)
        }
        try expect(error.code == .unimplemented, "expected UNIMPLEMENTED, got \(error)")
    }

    func oversizeRequest() async throws {
        let request = Request.with { $0.payload = pattern(5 * 1024 * 1024, seed: 5) }
        let error = try await expectFailure { _ = try await echo.unaryEcho(request, options: options) }
        try expect(error.code == .resourceExhausted, "expected RESOURCE_EXHAUSTED, got \(error)")
    }

    func health() async throws {
        let response = try await Grpc_Health_V1_HealthClient(rpc).check(.init(), options: options)
        try expect(response.status == .serving, "overall health is \(response.status)")
    }

    // MARK: - Helpers

    private func expect(_ condition: Bool, _ message: @autoclosure () -> String) throws {
        if !condition { throw InteropCaseFailure(caseName: name, message: message()) }
    }

    /// Runs a call that must fail, and returns its status.
    private func expectFailure(_ call: () async throws -> Void) async throws -> RPCError {
        do {
            try await call()
        } catch let error as RPCError {
            return error
        }
        throw InteropCaseFailure(caseName: name, message: "the call succeeded but should have failed")
    }
}

/// `count` bytes that differ with `seed`, so a response cannot pass for another's.
private func pattern(_ count: Int, seed: Int) -> Data {
    var bytes = [UInt8](repeating: 0, count: count)
    for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 31 &+ seed) }
    return Data(bytes)
}
