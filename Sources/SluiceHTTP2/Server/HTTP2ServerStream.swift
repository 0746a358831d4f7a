import SluiceRPC

/// A request stream of a server connection, as the RPC layer sees it.
///
/// Read by one task (the call's request reader); `pending` holds the rest of the last
/// batch of received chunks, so most reads need no hop to the event loop.
// Safe because only the call's one reader task touches `pending`; StreamIO is confined to the event loop.
final class HTTP2ServerStream: ServerStream, @unchecked Sendable {
    let io: StreamIO
    let connectionRequestMemory: RequestMemoryBudget?
    private var pending: [[UInt8]] = []
    private var pendingIndex = 0
    /// Whether `pending` was taken paced: its window is withheld until returned.
    private var pendingWithheld = false

    init(io: StreamIO, connectionRequestMemory: RequestMemoryBudget? = nil) {
        self.io = io
        self.connectionRequestMemory = connectionRequestMemory
    }

    func receive() async throws -> [UInt8]? {
        try await receive(paced: false)
    }

    func receive(paced: Bool) async throws -> [UInt8]? {
        while pendingIndex == pending.count {
            guard let events = try await io.next(returningWindow: !paced) else { return nil }
            pending = events.compactMap { if case .data(let bytes) = $0 { bytes } else { nil } }
            pendingIndex = 0
            pendingWithheld = paced
        }
        let chunk = pending[pendingIndex]
        pendingIndex += 1
        // Taken paced, handed out unpaced (the call's rate was cleared meanwhile): nobody else
        // will return this chunk's window, and without it the client could stop for good.
        if pendingWithheld, !paced { try await io.returnWindow(chunk.count) }
        return chunk
    }

    func returnWindow(_ count: Int) async throws {
        try await io.returnWindow(count)
    }

    func sendHeaders(_ fields: [HeaderField], endStream: Bool) async throws {
        let io = self.io
        try await io.onLoop {
            guard let connection = io.connection, !io.isClosed else {
                throw io.closingError
            }
            try connection.session.submitResponse(
                streamID: io.streamID, headers: GRPCResponseHead.make(fields: fields), hasBody: !endStream)
            connection.flush()
        }
    }

    func send(_ bytes: [UInt8]) async throws {
        try await io.write(bytes, end: false)
    }

    func send(prefix: [UInt8], payload: [UInt8]) async throws {
        try await io.write(prefix, payload, end: false)
    }

    func sendTrailers(_ fields: [HeaderField]) async throws {
        try await io.write([], end: true, trailers: fields)
    }

    func waitUntilWritable() async throws {
        try await io.waitUntilWritable()
    }
}
