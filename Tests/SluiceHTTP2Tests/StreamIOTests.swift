import NIOCore
import NIOPosix
@testable import SluiceHTTP2
import Testing

/// The waits of a stream's buffers: a task that is cancelled is never left waiting on the
/// event loop, however its cancellation and its wait are ordered there.
@Suite(.timeLimit(.minutes(1))) struct StreamIOTests {
    /// A task cancelled before its write reached the loop: the cancellation handler runs
    /// first and finds no waiter, so the write must still learn of it rather than wait for
    /// room that nobody will make (no peer drains this stream).
    @Test func aWriterCancelledBeforeItWaitsIsNotLeftWaiting() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let io = StreamIO(eventLoop: group.next(), connection: nil)
        let overfull = [UInt8](repeating: 0, count: StreamIO.outboundWindowAllowance + 2 * StreamIO.outboundHighWater)
        let outcome = Recorder<String>()
        Task {
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                try await io.write(overfull, end: false)
                outcome.append("written")
            } catch {
                outcome.append("\(type(of: error))")
            }
        }
        // Bounded, so a regression fails here instead of hanging the run.
        #expect(await waitUntil { !outcome.values.isEmpty }, "the cancelled writer is still waiting")
        #expect(outcome.values == ["CancellationError"])
        try await group.shutdownGracefully()
    }

    /// A reader waiting for data is woken by its cancellation.
    @Test func aWaitingReaderIsWokenByItsCancellation() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let io = StreamIO(eventLoop: loop, connection: nil)
        let reader = Task { try await io.next() }
        // Once the reader is registered as the waiter, cancel it.
        while try await !loop.submit({ io.isStalled(now: .distantFuture, timeout: .zero) }).get() {
            try await Task.sleep(for: .milliseconds(5))
        }
        reader.cancel()
        await #expect(throws: CancellationError.self) { try await reader.value }
        #expect(try await loop.submit { io.isStalled(now: .distantFuture, timeout: .zero) }.get() == false)
        try await group.shutdownGracefully()
    }

    /// Data that arrived is handed over in order, and the end of the stream after it.
    @Test func deliveredEventsAreReadInOrderThenTheEnd() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let io = StreamIO(eventLoop: loop, connection: nil)
        try await loop.submit {
            io.deliver(.data([1, 2]))
            io.deliver(.data([3]))
            io.deliverEndOfStream()
        }.get()
        let events = try await io.next()
        let chunks = events?.compactMap { event -> [UInt8]? in
            if case .data(let bytes) = event { bytes } else { nil }
        }
        #expect(chunks == [[1, 2], [3]])
        #expect(try await io.next() == nil)
        try await group.shutdownGracefully()
    }
}
