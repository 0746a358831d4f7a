import Foundation
import Testing
@testable import SluiceS3

@Suite struct ChunkPipeTests {
    @Test func chunksArriveInOrderAndTheProducerWaitsForTheConsumer() async throws {
        let pipe = ChunkPipe(capacity: 2)
        let produced = ThreadCounter()
        let thread = Thread {
            for value in 0..<50 where pipe.push([UInt8(value)], waitingAtMost: .seconds(60)) == .accepted {
                produced.increment()
            }
            pipe.finish(.success(()))
        }
        thread.start()
        try await Task.sleep(for: .milliseconds(100))
        // Nothing consumed yet: the producer got at most the capacity ahead.
        #expect(produced.value <= 2)
        var received: [UInt8] = []
        while case .chunk(let chunk) = try await pipe.next() { received += chunk }
        #expect(received == (0..<50).map(UInt8.init))
    }

    @Test func aFailureReachesTheConsumerAfterTheChunksBeforeIt() async throws {
        struct Broken: Error {}
        let pipe = ChunkPipe(capacity: 4)
        #expect(pipe.push([1], waitingAtMost: .zero) == .accepted)
        pipe.finish(.failure(Broken()))
        #expect(try await pipe.next() == .chunk([1]))
        await #expect(throws: Broken.self) { try await pipe.next() }
    }

    @Test func aClosedPipeReleasesABlockedProducer() async throws {
        let pipe = ChunkPipe(capacity: 1)
        #expect(pipe.push([1], waitingAtMost: .zero) == .accepted)
        let gone = ThreadCounter()
        let thread = Thread {
            if pipe.push([2], waitingAtMost: .seconds(60)) == .consumerGone { gone.increment() }
        }
        thread.start()
        try await Task.sleep(for: .milliseconds(50))
        pipe.close()
        for _ in 0..<100 where gone.value == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(gone.value == 1)
    }

    /// A consumer waiting for a chunk that will not come (the GET hangs) is woken by a close,
    /// which its cancelled task does, and so is one that asks after it.
    @Test func aClosedPipeReleasesAWaitingConsumer() async throws {
        let pipe = ChunkPipe(capacity: 1)
        let waiting = Task { try await pipe.next() }
        try await Task.sleep(for: .milliseconds(50))
        pipe.close()
        await #expect(throws: S3Error.cancelled) { try await waiting.value }
        await #expect(throws: S3Error.cancelled) { try await pipe.next() }
    }

    @Test func anIdleConsumerMakesTheProducerPauseAndLearnsItAfterDraining() async throws {
        let pipe = ChunkPipe(capacity: 1)
        #expect(pipe.push([1], waitingAtMost: .zero) == .accepted)
        #expect(pipe.push([2], waitingAtMost: .milliseconds(50)) == .consumerIdle)
        pipe.pause()
        #expect(try await pipe.next() == .chunk([1]))
        #expect(try await pipe.next() == .producerPaused)
        pipe.producerRestarting()
        #expect(pipe.push([2], waitingAtMost: .zero) == .accepted)
        pipe.finish(.success(()))
        #expect(try await pipe.next() == .chunk([2]))
        #expect(try await pipe.next() == .end)
    }
}
