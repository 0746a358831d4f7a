import Synchronization

/// A client stream that notes when it last moved: a request write the transport took, request
/// bytes going on their way or taken by the server (``ClientStream/requestBytesLastMoved``: a
/// slow link or a paced server moves them long before, or after, a write ends), or anything
/// the server sent. ``RPCClient`` fails a call whose stream stays
/// still for its ``CallOptions/idleTimeout``.
///
/// A deadline bounds a whole call, which a long transfer cannot be given; this bounds a
/// stall, which any call can meet: a server or middlebox that keeps the connection alive
/// (its pings answered) while one stream stops — headers sent and then nothing, a request
/// read and never answered, a flow-control window never opened.
final class ProgressWatchedStream: ClientStream {
    private let base: any ClientStream
    private let moved = Mutex(ContinuousClock.now)

    init(_ base: any ClientStream) {
        self.base = base
    }

    /// When the stream last moved (its opening, at first).
    var lastMoved: ContinuousClock.Instant {
        let own = moved.withLock { $0 }
        return base.requestBytesLastMoved.map { max($0, own) } ?? own
    }

    func send(_ bytes: [UInt8], endStream: Bool) async throws {
        try await base.send(bytes, endStream: endStream)
        noteProgress()
    }

    func receive() async throws -> ClientStreamEvent? {
        let event = try await base.receive()
        noteProgress()
        return event
    }

    func cancel() {
        base.cancel()
    }

    private func noteProgress() {
        moved.withLock { $0 = .now }
    }
}
