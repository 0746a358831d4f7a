import Synchronization

/// A server stream that counts the body bytes passing through it, both ways, so the
/// dispatcher can report a call's bytes in and out (access log and metrics) without any
/// handler taking part.
final class CountingServerStream<Base: ServerStream>: ServerStream {
    private let base: Base
    private let received = Atomic<Int>(0)
    private let sent = Atomic<Int>(0)

    init(_ base: Base) {
        self.base = base
    }

    /// Request body bytes taken from the client so far (gRPC frames, prefixes included).
    var receivedBytes: Int { received.load(ordering: .relaxed) }
    /// Response body bytes handed to the transport so far.
    var sentBytes: Int { sent.load(ordering: .relaxed) }

    func receive() async throws -> [UInt8]? {
        let bytes = try await base.receive()
        if let bytes { received.add(bytes.count, ordering: .relaxed) }
        return bytes
    }

    func receive(paced: Bool) async throws -> [UInt8]? {
        let bytes = try await base.receive(paced: paced)
        if let bytes { received.add(bytes.count, ordering: .relaxed) }
        return bytes
    }

    func returnWindow(_ count: Int) async throws {
        try await base.returnWindow(count)
    }

    func sendHeaders(_ fields: [HeaderField], endStream: Bool) async throws {
        try await base.sendHeaders(fields, endStream: endStream)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await base.send(bytes)
        sent.add(bytes.count, ordering: .relaxed)
    }

    func send(prefix: [UInt8], payload: [UInt8]) async throws {
        try await base.send(prefix: prefix, payload: payload)
        sent.add(prefix.count + payload.count, ordering: .relaxed)
    }

    func sendTrailers(_ fields: [HeaderField]) async throws {
        try await base.sendTrailers(fields)
    }

    func waitUntilWritable() async throws {
        try await base.waitUntilWritable()
    }

    var connectionRequestMemory: RequestMemoryBudget? { base.connectionRequestMemory }
}
