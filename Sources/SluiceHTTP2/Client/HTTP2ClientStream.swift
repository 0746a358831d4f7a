import SluiceRPC

/// A request stream of a client connection, as the RPC layer sees it.
///
/// Read by one task (the call's receiver); `pending` holds the rest of the last batch of
/// received events, so most reads need no hop to the event loop.
// Safe because only the call's one receiver task touches `pending`; StreamIO is confined to the event loop.
final class HTTP2ClientStream: ClientStream, @unchecked Sendable {
    let io: StreamIO
    let role: ClientConnection
    private var pending: [InboundEvent] = []
    private var pendingIndex = 0

    init(io: StreamIO, role: ClientConnection) {
        self.io = io
        self.role = role
    }

    func send(_ bytes: [UInt8], endStream: Bool) async throws {
        try await io.write(bytes, end: endStream)
    }

    func receive() async throws -> ClientStreamEvent? {
        if pendingIndex == pending.count {
            guard let events = try await io.next() else { return nil }
            pending = events
            pendingIndex = 0
        }
        defer { pendingIndex += 1 }
        return switch pending[pendingIndex] {
        case .headers(let fields): GRPCResponseHead.read(fields)
        case .data(let bytes): ClientStreamEvent.data(bytes)
        case .trailers(let fields): ClientStreamEvent.trailers(fields)
        }
    }

    var requestBytesLastMoved: ContinuousClock.Instant? {
        io.requestBytesLastMoved.withLock { $0 }
    }

    func cancel() {
        let (io, role) = (self.io, self.role)
        io.eventLoop.execute { role.cancel(io) }
    }
}
