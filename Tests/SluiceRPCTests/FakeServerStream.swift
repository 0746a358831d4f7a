import SluiceRPC
import Synchronization

/// An in-memory `ServerStream`: the test supplies request body pieces and reads back
/// everything the dispatcher sent, in order. Writes after the stream has ended are recorded
/// as protocol violations instead of being sent.
// Safe because the recorded state is behind a Mutex and the request iterator is used by the dispatcher's one task.
final class FakeServerStream: ServerStream, @unchecked Sendable {
    enum Sent: Equatable, CustomStringConvertible {
        case headers([HeaderField], endStream: Bool)
        case data([UInt8])
        case trailers([HeaderField])

        var description: String {
            switch self {
            case .headers(let fields, let end): "HEADERS\(end ? "+END" : "") \(fields)"
            case .data(let bytes): "DATA \(bytes.count) bytes"
            case .trailers(let fields): "TRAILERS \(fields)"
            }
        }
    }

    private struct State {
        var sent: [Sent] = []
        var ended = false
        var violations: [String] = []
    }

    private let state = Mutex(State())
    /// The budget shared with the other streams of a (pretend) connection.
    var connectionRequestMemory: RequestMemoryBudget?
    // Only the call's single reader touches the iterator.
    private var requests: AsyncThrowingStream<[UInt8], any Error>.AsyncIterator
    private let requestInput: AsyncThrowingStream<[UInt8], any Error>.Continuation

    init() {
        let (stream, input) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        requests = stream.makeAsyncIterator()
        requestInput = input
    }

    // MARK: Test side

    /// Queues request body bytes.
    func deliver(_ bytes: [UInt8]) { requestInput.yield(bytes) }
    /// Ends the request body.
    func endRequests() { requestInput.finish() }
    /// Fails pending and later reads, like a reset stream.
    func reset() { requestInput.finish(throwing: RPCError(.cancelled, "reset")) }

    /// Fails the pending read as a lost connection does.
    func loseConnection() { requestInput.finish(throwing: RPCError(.unavailable, "the connection was closed")) }

    var sent: [Sent] { state.withLock { $0.sent } }
    var isEnded: Bool { state.withLock { $0.ended } }
    var violations: [String] { state.withLock { $0.violations } }

    /// The one header block that ended the stream: trailers, or a trailers-only response.
    var finalFields: [HeaderField]? {
        switch sent.last {
        case .headers(let fields, endStream: true)?: fields
        case .trailers(let fields)?: fields
        default: nil
        }
    }

    var statusCode: StatusCode? { finalFields?.first(named: "grpc-status").map(StatusCode.init(wireValue:)) }
    var statusMessage: String? { finalFields?.first(named: "grpc-message").map(PercentEncoding.decode) }

    /// The request messages of the data frames, deframed.
    func responseMessages() throws -> [[UInt8]] {
        var deframer = MessageDeframer(maxMessageSize: 64 << 20)
        var messages: [[UInt8]] = []
        for case .data(let bytes) in sent {
            deframer.append(bytes)
            while let message = try deframer.next() { messages.append(message) }
        }
        try deframer.finish()
        return messages
    }

    // MARK: ServerStream

    func receive() async throws -> [UInt8]? { try await requests.next() }

    func sendHeaders(_ fields: [HeaderField], endStream: Bool) async throws {
        try record(.headers(fields, endStream: endStream), ends: endStream)
    }

    func send(_ bytes: [UInt8]) async throws {
        try record(.data(bytes), ends: false)
    }

    func sendTrailers(_ fields: [HeaderField]) async throws {
        try record(.trailers(fields), ends: true)
    }

    private func record(_ item: Sent, ends: Bool) throws {
        try state.withLock { state in
            guard !state.ended else {
                state.violations.append("sent after the end of the stream: \(item)")
                throw RPCError(.cancelled, "the stream is closed")
            }
            if case .data = item, !state.sent.contains(where: { if case .headers = $0 { true } else { false } }) {
                state.violations.append("data before headers")
            }
            if case .trailers = item, state.sent.isEmpty {
                state.violations.append("trailers without headers")
            }
            state.sent.append(item)
            if ends { state.ended = true }
        }
    }
}

/// Waits until `condition` holds, checking every few milliseconds, for at most `timeout` (a
/// bound for a failing test, generous because the suites share two cores with other work: a
/// full run at a load average of 10 once kept a 50 ms deadline's status past 20 s).
func waitUntil(
    timeout: Duration = .seconds(60), _ condition: @Sendable () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(5))
    }
    return try await condition()
}

/// A gate a handler can wait on without noticing cancellation.
final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }
}
