import Synchronization
import Testing

@testable import SluiceStore

/// The gate never lets more than its limit through, serves waiters in turn, and a cancelled
/// waiter neither gets nor leaks a slot.
@Suite struct FairShareGateTests {
    @Test func neverMoreThanTheLimitAtOnce() async throws {
        let gate = FairShareGate(limit: 3)
        let inside = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    try await gate.acquire(for: "p1")
                    inside.state.withLock { $0.now += 1; $0.most = max($0.most, $0.now) }
                    try await Task.sleep(for: .milliseconds(2))
                    inside.state.withLock { $0.now -= 1 }
                    gate.release(for: "p1")
                }
            }
            try await group.waitForAll()
        }
        #expect(inside.state.withLock { $0.most } == 3)
    }

    @Test func aCancelledWaiterLeavesWithoutASlot() async throws {
        let gate = FairShareGate(limit: 1)
        try await gate.acquire(for: "p1")
        let waiter = Task { try await gate.acquire(for: "p1") }
        try await Task.sleep(for: .milliseconds(20))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        gate.release(for: "p1")
        try await gate.acquire(for: "p1")  // the one slot is free again: nothing leaked
        gate.release(for: "p1")
    }

    /// One holder whose slots stall cannot take the last quarter: another holder passes its
    /// queued waiters and gets a slot at once; the stalled holder's waiter gets the next slot
    /// its own holder frees.
    @Test func oneHolderCannotTakeEverySlot() async throws {
        let gate = FairShareGate(limit: 8, perHolderLimit: FairShareGate.share(of: 8))
        #expect(gate.perHolderLimit == 6)
        for _ in 0..<6 { try await gate.acquire(for: "p1") }
        let queued = Task { try await gate.acquire(for: "p1") }
        try await Task.sleep(for: .milliseconds(20))
        try await gate.acquire(for: "p2")
        try await gate.acquire(for: "p2")
        gate.release(for: "p2")  // a slot is free, but p1 is at its share: its waiter stays queued
        try await Task.sleep(for: .milliseconds(20))
        try await gate.acquire(for: "p3")
        gate.release(for: "p1")  // now p1 may take one more
        try await queued.value
        gate.release(for: "p2")
        try await gate.acquire(for: "p3")
    }

    /// Waiters of holders under their share are served in the order they came.
    @Test func waitersUnderTheirShareAreServedInTurn() async throws {
        let gate = FairShareGate(limit: 2, perHolderLimit: 1)
        try await gate.acquire(for: "p1")
        try await gate.acquire(for: "p2")
        let order = Arrivals()
        let first = Task { try await gate.acquire(for: "p3"); order.names.withLock { $0.append("p3") } }
        try await Task.sleep(for: .milliseconds(20))
        let second = Task { try await gate.acquire(for: "p4"); order.names.withLock { $0.append("p4") } }
        try await Task.sleep(for: .milliseconds(20))
        gate.release(for: "p1")
        try await first.value
        gate.release(for: "p2")
        try await second.value
        #expect(order.names.withLock { $0 } == ["p3", "p4"])
    }

    /// Units are weights (bytes, say): what is free admits every waiter that fits, and a
    /// request past one holder's share takes the whole share instead of waiting forever.
    @Test func weightedRequestsTakeWhatTheyAskWithinTheShare() async throws {
        let gate = FairShareGate(limit: 100, perHolderLimit: 25)
        #expect(gate.units(for: 1_000) == 25 && gate.units(for: 0) == 1)
        try await gate.acquire(1_000, for: "p1")
        try await gate.acquire(20, for: "p2")
        let small = Task { try await gate.acquire(5, for: "p1") }  // p1 is at its share
        try await Task.sleep(for: .milliseconds(20))
        try await gate.acquire(25, for: "p3")
        try await gate.acquire(25, for: "p4")
        let big = Task { try await gate.acquire(10, for: "p5") }  // 5 free: waits
        try await Task.sleep(for: .milliseconds(20))
        gate.release(25, for: "p1")  // 30 free: p1's waiter (5) and p5's (10) both fit
        try await small.value
        try await big.value
        try await gate.holding(15, for: "p6") {}  // 15 free
    }

    @Test func theShareLeavesAQuarterAndAtLeastOneSlot() {
        #expect(FairShareGate.share(of: 1) == 1)
        #expect(FairShareGate.share(of: 2) == 1)
        #expect(FairShareGate.share(of: 4) == 3)
        #expect(FairShareGate.share(of: 1024) == 768)
    }
}

/// How many tasks are past the gate now, and the most there ever were.
private final class Occupancy: Sendable {
    let state = Mutex((now: 0, most: 0))
}

/// The holders in the order their waiters got through.
private final class Arrivals: Sendable {
    let names = Mutex<[String]>([])
}
