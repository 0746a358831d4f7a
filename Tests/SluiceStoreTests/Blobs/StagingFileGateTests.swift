import Synchronization
import Testing

@testable import SluiceStore

/// The gate never lets more than its limit through, serves waiters in turn, and a cancelled
/// waiter neither gets nor leaks a slot.
@Suite struct StagingFileGateTests {
    @Test func neverMoreThanTheLimitAtOnce() async throws {
        let gate = StagingFileGate(limit: 3)
        let inside = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    try await gate.acquire()
                    inside.state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                    try await Task.sleep(for: .milliseconds(2))
                    inside.state.withLock { $0.now -= 1 }
                    gate.release()
                }
            }
            try await group.waitForAll()
        }
        #expect(inside.state.withLock { $0.most } == 3)
    }

    @Test func aCancelledWaiterLeavesWithoutASlot() async throws {
        let gate = StagingFileGate(limit: 1)
        try await gate.acquire()
        let waiter = Task { try await gate.acquire() }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        gate.release()
        try await gate.acquire()  // the one slot is free again: nothing leaked
        gate.release()
    }
}

/// How many tasks are past the gate now, and the most there ever were.
private final class Occupancy: Sendable {
    let state = Mutex((now: 0, most: 0))
}
