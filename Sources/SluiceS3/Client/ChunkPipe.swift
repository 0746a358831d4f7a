import Foundation

/// Hands chunks from a producing thread to an asynchronous consumer, holding at most `capacity`
/// at once: the producer blocks when the consumer falls behind, which is how a slow download
/// slows the GET feeding it rather than filling memory.
final class ChunkPipe: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    // Everything below is guarded by `condition`.
    private var queue: [[UInt8]] = []
    private var end: Result<Void, any Error>?
    private var consumerGone = false
    private var waitingConsumer: CheckedContinuation<[UInt8]?, any Error>?

    init(capacity: Int) {
        precondition(capacity > 0, "a pipe holds at least one chunk")
        self.capacity = capacity
    }

    /// Called by the producer; blocks while the pipe is full. False once the consumer is gone.
    func push(_ chunk: [UInt8]) -> Bool {
        condition.lock()
        while queue.count >= capacity && !consumerGone { condition.wait() }
        guard !consumerGone else {
            condition.unlock()
            return false
        }
        if let consumer = waitingConsumer {
            waitingConsumer = nil
            condition.unlock()
            consumer.resume(returning: chunk)
        } else {
            queue.append(chunk)
            condition.unlock()
        }
        return true
    }

    /// Called by the producer once, after its last chunk or on failure.
    func finish(_ result: Result<Void, any Error>) {
        condition.lock()
        end = result
        let consumer = waitingConsumer
        waitingConsumer = nil
        condition.unlock()
        consumer?.resume(with: result.map { nil })
    }

    /// The next chunk, or nil after the last; rethrows the producer's failure.
    func next() async throws -> [UInt8]? {
        try await withCheckedThrowingContinuation { continuation in
            condition.lock()
            if !queue.isEmpty {
                let chunk = queue.removeFirst()
                condition.signal()
                condition.unlock()
                continuation.resume(returning: chunk)
            } else if let end {
                condition.unlock()
                continuation.resume(with: end.map { nil })
            } else {
                waitingConsumer = continuation
                condition.unlock()
            }
        }
    }

    /// Called when the consumer stops reading: a blocked or later push returns false.
    func close() {
        condition.lock()
        consumerGone = true
        queue.removeAll()
        condition.broadcast()
        condition.unlock()
    }
}
