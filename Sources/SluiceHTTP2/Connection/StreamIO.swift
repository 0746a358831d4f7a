import NIOCore
import SluiceRPC
import Synchronization

/// What arrives on a stream, in order.
enum InboundEvent {
    case headers([HeaderField])
    case data([UInt8])
    case trailers([HeaderField])
}

/// The buffers of one HTTP/2 stream between its connection (event loop) and the task that
/// runs the call: received events waiting to be taken, bytes waiting to be sent, and the
/// continuations of a task waiting on either.
///
/// Every property is touched on the connection's event loop only; tasks reach it through
/// the async methods, which hop there. That confinement is what `@unchecked` vouches for.
// Safe because its state is touched only on the connection's event loop; async methods hop there first.
final class StreamIO: @unchecked Sendable {
    /// Outbound bytes that may be queued beyond what the peer's window lets go at once.
    /// Small, so a response the client does not read holds at most its current message plus
    /// this much: no further message is serialized while the window is closed.
    static let outboundHighWater = 64 * 1024
    /// The most of the peer's window that counts as room to queue into: a client that grants
    /// a huge window and then does not read its socket must not make the server queue it all.
    static let outboundWindowAllowance = 1024 * 1024

    let eventLoop: EventLoop
    var streamID: Int32 = -1
    weak var connection: HTTP2ConnectionHandler?

    private var inbound: [InboundEvent] = []
    private var inboundEnded = false
    private var inboundWaiter: CheckedContinuation<[InboundEvent]?, Error>?
    /// Whether the waiting reader hands the window of what it takes back at once (see `next`).
    private var inboundWaiterReturnsWindow = true
    /// Data bytes taken by the task whose window it has not handed back yet (see
    /// `next(returningWindow:)`); handed back when the stream ends, whatever the task does.
    private var withheldWindow = 0
    /// Data bytes received and not yet handed to the task (they still hold window).
    private(set) var bufferedInboundBytes = 0
    /// Set once nobody will read this stream again (see `abandon()`).
    private var isAbandoned = false

    let outbound = OutboundData()
    /// A writer waiting for queued bytes to drain below the high-water mark.
    private var writeWaiter: CheckedContinuation<Void, Error>?
    /// A writer waiting for room: little queued and the peer's window open.
    private var roomWaiter: CheckedContinuation<Void, Error>?
    /// Why the stream can no longer be used; nil while it is open.
    private(set) var failure: Error?
    private(set) var isClosed = false
    /// When bytes last moved in either direction (received, taken, queued or sent).
    private var lastProgress = NIODeadline.now()
    /// Bytes taken whose stream window the peer was not told of yet (see
    /// ``returnWindow(of:announcingNow:)``).
    private var unannouncedWindow = 0
    /// When the peer was last told that bytes of this stream were taken.
    private var windowLastAnnounced = NIODeadline.now()
    /// The longest a peer sending steadily goes without hearing that its bytes are taken.
    static let windowAnnouncementInterval = TimeAmount.seconds(1)
    /// When this stream's outbound bytes last moved on (a client's: ``outboundBytesMoved()``):
    /// read by the task that makes the call, hence behind a lock of its own.
    let requestBytesLastMoved = Mutex<ContinuousClock.Instant?>(nil)

    init(eventLoop: EventLoop, connection: HTTP2ConnectionHandler?) {
        self.eventLoop = eventLoop
        self.connection = connection
    }

    // MARK: Connection side (event loop)

    func deliver(_ event: InboundEvent) {
        if case .data(let bytes) = event {
            guard !isAbandoned else {
                connection?.session.consume(streamID: streamID, count: bytes.count)
                return
            }
            adjustBuffered(by: bytes.count)
            lastProgress = .now()
        }
        inbound.append(event)
        wakeReader()
    }

    func deliverEndOfStream() {
        inboundEnded = true
        wakeReader()
    }

    var isInboundEnded: Bool { inboundEnded }

    /// The stream closed. `error` is nil for a normal close; then events already received
    /// can still be read.
    func close(error: Error?) {
        isClosed = true
        returnWithheldWindow()
        if let error {
            if failure == nil { failure = error }
            discardUnread()
        } else {
            inboundEnded = true
        }
        wakeReader()
        let closed = closingError
        if let writeWaiter {
            self.writeWaiter = nil
            writeWaiter.resume(throwing: closed)
        }
        if let roomWaiter {
            self.roomWaiter = nil
            roomWaiter.resume(throwing: closed)
        }
    }

    /// The call on this stream has ended: bytes still held or yet to arrive are dropped as
    /// they come (their window given back), never held for a reader that is gone.
    func abandon() {
        isAbandoned = true
        discardUnread()
        returnWithheldWindow()
    }

    /// Hands back the window of bytes the task took without returning it (see `next`): the
    /// connection's window must never shrink by what a finished call held.
    private func returnWithheldWindow() {
        guard withheldWindow > 0 else { return }
        connection?.session.consume(streamID: streamID, count: withheldWindow)
        withheldWindow = 0
    }

    /// Drops received bytes nobody will take now and gives their window back to the connection.
    private func discardUnread() {
        guard bufferedInboundBytes > 0 else { return }
        connection?.session.consume(streamID: streamID, count: bufferedInboundBytes)
        adjustBuffered(by: -bufferedInboundBytes)
        inbound.removeAll()
    }

    /// Every change to the bytes held for the task goes through here, so the connection's
    /// own count of unread request bytes never drifts from the streams'.
    private func adjustBuffered(by delta: Int) {
        bufferedInboundBytes += delta
        connection?.unreadBytesChanged(by: delta)
    }

    /// Why the stream can no longer be used (its failure, else its close); nil while it is open.
    private var closedError: Error? { isClosed ? closingError : nil }

    /// What a closed stream's pending and later writes fail with.
    var closingError: Error { failure ?? RPCError(.cancelled, "the stream is closed") }

    /// The peer's window for this stream (and the connection) now; unbounded without a
    /// connection.
    private var remoteWindow: Int {
        connection?.session.remoteWindow(streamID: streamID) ?? Self.outboundWindowAllowance
    }

    /// How many bytes may be queued: what the peer's window lets go now (up to the
    /// allowance) plus the high-water mark.
    private var queueLimit: Int {
        min(remoteWindow, Self.outboundWindowAllowance) + Self.outboundHighWater
    }

    /// Whether another message may be serialized: the peer's window (stream and connection)
    /// is open and the queue is under its limit.
    private var hasRoom: Bool {
        remoteWindow > 0 && outbound.bufferedBytes < queueLimit
    }

    /// The peer opened its window (for this stream or the whole connection).
    func windowOpened() {
        wakeWriters()
    }

    /// This stream's outbound bytes moved on: nghttp2 took some to send (it asks only while
    /// the connection drains, so over a slow link this is how a long write shows it moves), or
    /// the peer opened the stream's own window (it took bytes sent on it).
    func outboundBytesMoved() {
        requestBytesLastMoved.withLock { $0 = .now }
    }

    /// Lets waiting writers go on once there is room for them.
    private func wakeWriters() {
        if let writeWaiter, outbound.bufferedBytes < queueLimit {
            self.writeWaiter = nil
            writeWaiter.resume()
        }
        if let roomWaiter, hasRoom {
            self.roomWaiter = nil
            roomWaiter.resume()
        }
    }

    /// Whether the stream has waited longer than `timeout` for its peer: its handler waits
    /// for request bytes, or its response bytes wait for window, and nothing moved.
    func isStalled(now: NIODeadline, timeout: TimeAmount) -> Bool {
        guard !isClosed, now - lastProgress > timeout else { return false }
        return outbound.bufferedBytes > 0 || roomWaiter != nil || (inboundWaiter != nil && !inboundEnded)
    }

    /// nghttp2 took outbound bytes: let a waiting writer go on once there is room.
    func outboundDrained() {
        lastProgress = .now()
        wakeWriters()
    }

    private func wakeReader() {
        guard let waiter = inboundWaiter else { return }
        if let events = takeInbound(returningWindow: inboundWaiterReturnsWindow) {
            inboundWaiter = nil
            waiter.resume(returning: events)
        } else if let failure {
            inboundWaiter = nil
            waiter.resume(throwing: failure)
        } else if inboundEnded {
            inboundWaiter = nil
            waiter.resume(returning: nil)
        }
    }

    /// Takes every event received so far, handing the window of their data back to the
    /// peer (unless `returningWindow` is false: see `next`): the task wakes once per burst, and
    /// no bytes are copied to batch them.
    private func takeInbound(returningWindow: Bool = true) -> [InboundEvent]? {
        guard !inbound.isEmpty else { return nil }
        let events = inbound
        inbound.removeAll(keepingCapacity: true)
        let bytes = events.reduce(0) { total, event in
            if case .data(let chunk) = event { total + chunk.count } else { total }
        }
        if bytes > 0 {
            lastProgress = .now()
            adjustBuffered(by: -bytes)
            if returningWindow {
                returnWindow(of: bytes)
                connection?.flush()
            } else {
                withheldWindow += bytes
            }
        }
        return events
    }

    /// Hands the window of `count` taken bytes back: the connection's at once (nghttp2
    /// announces it by halves), the stream's once half its window is taken, as nghttp2 would,
    /// or at once when `announcingNow` (a reader that paces itself hands back a step at a
    /// time), and at least once every ``windowAnnouncementInterval`` while bytes are taken.
    /// Half a window is a few MiB, which over a slow link, or at a paced rate, takes minutes:
    /// a peer that watches for progress (``requestBytesLastMoved`` on a client) would take
    /// the stream for stalled. That goes on after the peer has ended the stream: a paced
    /// reader takes the bytes long after they all came.
    private func returnWindow(of count: Int, announcingNow: Bool = false) {
        guard count > 0, let session = connection?.session else { return }
        session.consumeConnection(count: count)
        unannouncedWindow += count
        let now = NIODeadline.now()
        if announcingNow || now - windowLastAnnounced >= Self.windowAnnouncementInterval
            || unannouncedWindow * 2 >= session.streamWindow(streamID: streamID)
        {
            session.announceStreamWindow(streamID: streamID, count: unannouncedWindow)
            unannouncedWindow = 0
            windowLastAnnounced = now
        }
    }

    // MARK: Task side

    /// Hands back the window of `count` bytes taken with `next(returningWindow: false)`, and
    /// tells the peer at once (see ``returnWindow(of:announcingNow:)``). More than is withheld
    /// returns what is (bytes taken in a batch whose window went back as it was taken).
    func returnWindow(_ count: Int) async throws {
        try await onLoop {
            let returned = min(count, self.withheldWindow)
            guard returned > 0 else { return }
            self.withheldWindow -= returned
            self.lastProgress = .now()
            self.returnWindow(of: returned, announcingNow: true)
            self.connection?.flush()
        }
    }

    /// The events received since the last call, in order (at least one); nil at the end
    /// of the stream. Throws when it was reset or lost.
    ///
    /// Their window goes back to the peer as they are taken, unless `returningWindow` is false:
    /// then the task hands it back itself, bit by bit (`returnWindow`), as a reader that paces
    /// itself takes the bytes, so that the peer is held back by flow control at that pace.
    func next(returningWindow: Bool = true) async throws -> [InboundEvent]? {
        // A cancelled reader stops even while data keeps arriving.
        try Task.checkCancellation()
        return try await waitOnLoop(
            { continuation in
                if let events = self.takeInbound(returningWindow: returningWindow) {
                    continuation.resume(returning: events)
                } else if let failure = self.failure {
                    continuation.resume(throwing: failure)
                } else if self.inboundEnded {
                    continuation.resume(returning: nil)
                } else {
                    self.inboundWaiter = continuation
                    self.inboundWaiterReturnsWindow = returningWindow
                }
            },
            onCancel: {
                guard let waiter = self.inboundWaiter else { return }
                self.inboundWaiter = nil
                waiter.resume(throwing: CancellationError())
            })
    }

    /// Queues body bytes (and optionally the end of the body), then waits while too many
    /// are queued. `more` follows `bytes` (a message's payload behind its prefix): queued
    /// as a chunk of its own, it is not copied to join them.
    func write(_ bytes: [UInt8], _ more: [UInt8] = [], end: Bool, trailers: [HeaderField]? = nil) async throws {
        try await waitOnLoop(
            { (continuation: CheckedContinuation<Void, Error>) in
                if let failure = self.closedError {
                    continuation.resume(throwing: failure)
                    return
                }
                self.outbound.append(bytes)
                self.outbound.append(more)
                self.lastProgress = .now()
                if end { self.outbound.complete(trailers: trailers) }
                self.connection?.resume(streamID: self.streamID)
                if self.outbound.bufferedBytes >= self.queueLimit && !end && !self.isClosed {
                    self.writeWaiter = continuation
                } else {
                    continuation.resume()
                }
            },
            onCancel: {
                guard let waiter = self.writeWaiter else { return }
                self.writeWaiter = nil
                waiter.resume(throwing: CancellationError())
            })
    }

    /// Waits until the stream has room for another message (see `hasRoom`).
    func waitUntilWritable() async throws {
        try Task.checkCancellation()
        try await waitOnLoop(
            { (continuation: CheckedContinuation<Void, Error>) in
                if let failure = self.closedError {
                    continuation.resume(throwing: failure)
                } else if self.hasRoom {
                    continuation.resume()
                } else {
                    self.roomWaiter = continuation
                }
            },
            onCancel: {
                guard let waiter = self.roomWaiter else { return }
                self.roomWaiter = nil
                waiter.resume(throwing: CancellationError())
            })
    }

    /// Suspends the task until `start` (run on the event loop) or a waker resumes the
    /// continuation. The cancellation handler may reach the loop before `start` does (a task
    /// cancelled just before it suspended), and `Task.isCancelled` means nothing on the loop,
    /// so the handler leaves a mark for this one wait, and a marked wait never starts.
    private func waitOnLoop<Value: Sendable>(
        _ start: @escaping @Sendable (CheckedContinuation<Value, Error>) -> Void,
        onCancel cancelWaiter: @escaping @Sendable () -> Void
    ) async throws -> Value {
        let mark = CancellationMark()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                eventLoop.execute {
                    if mark.isSet {
                        continuation.resume(throwing: CancellationError())
                    } else {
                        start(continuation)
                    }
                }
            }
        } onCancel: {
            eventLoop.execute {
                mark.isSet = true
                cancelWaiter()
            }
        }
    }

    /// Runs `body` on the event loop and returns its result to the task.
    func onLoop<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await eventLoop.submit(body).get()
    }
}

/// Whether one wait's task was cancelled, as its event loop learned it.
// Safe because it is read and written on the stream's event loop only.
private final class CancellationMark: @unchecked Sendable {
    var isSet = false
}
