import Testing
@testable import SluiceS3

@Suite struct TransferSlotsTests {
    @Test func beyondCapacityACallerWaitsForARelease() async throws {
        let slots = TransferSlots(capacity: 2)
        await slots.acquire()
        await slots.acquire()
        let admitted = ThreadCounter()
        let third = Task {
            await slots.acquire()
            admitted.increment()
        }
        try await Task.sleep(for: .milliseconds(100))
        #expect(admitted.value == 0, "a third transfer ran beside two")
        slots.release()
        await third.value
        #expect(admitted.value == 1)
    }
}
