import Foundation
import Testing
@testable import SluiceS3

@Suite struct ChunkPipeTests {
    @Test func chunksArriveInOrderAndTheProducerWaitsForTheConsumer() async throws {
        let pipe = ChunkPipe(capacity: 2)
        let produced = ManagedCounter()
        let thread = Thread {
            for value in 0..<50 where pipe.push([UInt8(value)]) { produced.increment() }
            pipe.finish(.success(()))
        }
        thread.start()
        try await Task.sleep(for: .milliseconds(100))
        // Nothing consumed yet: the producer got at most the capacity (plus one in hand) ahead.
        #expect(produced.value <= 3)
        var received: [UInt8] = []
        while let chunk = try await pipe.next() { received += chunk }
        #expect(received == (0..<50).map(UInt8.init))
    }

    @Test func aFailureReachesTheConsumerAfterTheChunksBeforeIt() async throws {
        struct Broken: Error {}
        let pipe = ChunkPipe(capacity: 4)
        #expect(pipe.push([1]))
        pipe.finish(.failure(Broken()))
        #expect(try await pipe.next() == [1])
        await #expect(throws: Broken.self) { try await pipe.next() }
    }

    @Test func aClosedPipeReleasesABlockedProducer() async throws {
        let pipe = ChunkPipe(capacity: 1)
        #expect(pipe.push([1]))
        let released = ManagedCounter()
        let thread = Thread {
            if !pipe.push([2]) { released.increment() }
        }
        thread.start()
        try await Task.sleep(for: .milliseconds(50))
        pipe.close()
        for _ in 0..<100 where released.value == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(released.value == 1)
    }
}

/// A counter shared with a plain thread.
private final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    var value: Int { lock.withLock { count } }

    func increment() { lock.withLock { count += 1 } }
}
