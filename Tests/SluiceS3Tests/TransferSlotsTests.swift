import Testing
@testable import SluiceS3

@Suite struct TransferSlotsTests {
    @Test func beyondCapacityACallerWaitsForARelease() async throws {
        let slots = TransferSlots(capacity: 2)
        try await slots.acquire()
        try await slots.acquire()
        let admitted = ThreadCounter()
        let third = Task {
            try await slots.acquire()
            admitted.increment()
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(admitted.value == 0, "a third transfer ran beside two")
        slots.release()
        try await third.value
        #expect(admitted.value == 1)
    }

    /// A call that gives up while its transfer waits for a slot stops waiting at once, takes
    /// no slot, and the next release goes to the caller behind it.
    @Test func aCancelledWaiterLeavesTheQueueWithoutASlot() async throws {
        let slots = TransferSlots(capacity: 1)
        try await slots.acquire()
        let cancelled = Task { try await slots.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        let admitted = ThreadCounter()
        let behind = Task {
            try await slots.acquire()
            admitted.increment()
        }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        slots.release()
        try await behind.value
        #expect(admitted.value == 1)
        // The cancelled waiter took nothing: the one slot is the second caller's.
        let third = Task { try await slots.acquire() }
        try await Task.sleep(for: .milliseconds(50))
        third.cancel()
        await #expect(throws: CancellationError.self) { try await third.value }
    }
}
