import Foundation
import SluiceDuration

/// Hands chunks from a producing thread to an asynchronous consumer, holding at most `capacity`
/// at once: the producer blocks when the consumer falls behind, which is how a slow download
/// slows the GET feeding it rather than filling memory.
///
/// A producer that has waited too long for a slow consumer can step away (``pause()``) to free
/// its transfer slot; the consumer then learns, once it has drained the pipe, that it must
/// restart the producer.
// Safe because every mutable field is read and written only while holding `condition`.
final class ChunkPipe: @unchecked Sendable {
    /// What happened to a pushed chunk.
    enum Delivery { case accepted, consumerGone, consumerIdle }

    /// What the consumer gets next.
    enum Item: Equatable { case chunk([UInt8]), end, producerPaused }

    private let condition = NSCondition()
    private let capacity: Int
    // Everything below is guarded by `condition`.
    private var queue: [[UInt8]] = []
    private var end: Result<Void, any Error>?
    private var producerPaused = false
    private var consumerGone = false
    private var waitingConsumer: CheckedContinuation<Item, any Error>?

    init(capacity: Int) {
        precondition(capacity > 0, "a pipe holds at least one chunk")
        self.capacity = capacity
    }

    /// Called by the producer; blocks while the pipe is full, for at most `patience`.
    func push(_ chunk: [UInt8], waitingAtMost patience: Duration) -> Delivery {
        let deadline = Date(timeIntervalSinceNow: patience.inSeconds)
        condition.lock()
        while queue.count >= capacity && !consumerGone {
            if !condition.wait(until: deadline), queue.count >= capacity, !consumerGone {
                condition.unlock()
                return .consumerIdle
            }
        }
        guard !consumerGone else {
            condition.unlock()
            return .consumerGone
        }
        if let consumer = waitingConsumer {
            waitingConsumer = nil
            condition.unlock()
            consumer.resume(returning: .chunk(chunk))
        } else {
            queue.append(chunk)
            condition.unlock()
        }
        return .accepted
    }

    /// Called by the producer once, after its last chunk or on failure.
    func finish(_ result: Result<Void, any Error>) {
        condition.lock()
        end = result
        let consumer = waitingConsumer
        waitingConsumer = nil
        condition.unlock()
        consumer?.resume(with: result.map { .end })
    }

    /// Called by a producer that stops before the end and expects to be restarted.
    func pause() {
        condition.lock()
        producerPaused = true
        let consumer = waitingConsumer
        waitingConsumer = nil
        condition.unlock()
        consumer?.resume(returning: .producerPaused)
    }

    /// Called by the consumer just before it restarts a paused producer.
    func producerRestarting() {
        condition.lock()
        producerPaused = false
        condition.unlock()
    }

    /// The next chunk, the end, or word that the producer paused and the pipe is empty;
    /// rethrows the producer's failure.
    func next() async throws -> Item {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            if consumerGone {
                condition.unlock()
                continuation.resume(throwing: S3Error.cancelled)
            } else if !queue.isEmpty {
                let chunk = queue.removeFirst()
                condition.signal()
                condition.unlock()
                continuation.resume(returning: .chunk(chunk))
            } else if let end {
                condition.unlock()
                continuation.resume(with: end.map { .end })
            } else if producerPaused {
                condition.unlock()
                continuation.resume(returning: .producerPaused)
            } else {
                waitingConsumer = continuation
                condition.unlock()
            }
        }
    }

    /// Called when the consumer stops reading: a blocked or later push reports it gone, and a
    /// ``next()`` waiting or still to come fails with ``S3Error/cancelled`` (the consumer's task
    /// was cancelled while it waited, which is how a cancelled call lets go of a hung GET).
    func close() {
        condition.lock()
        consumerGone = true
        queue.removeAll()
        let consumer = waitingConsumer
        waitingConsumer = nil
        condition.broadcast()
        condition.unlock()
        consumer?.resume(throwing: S3Error.cancelled)
    }
}
