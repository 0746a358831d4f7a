@testable import SluiceRPC
import Testing

/// The process-wide budget for request messages being assembled: a call reserves a
/// message's declared size before buffering it, waits while the budget is spent, and
/// releases it when the message is whole or the call ends.
@Suite struct RequestMemoryBudgetTests {
    @Test func aMessageHoldsItsDeclaredSizeUntilItIsWhole() async throws {
        let budget = RequestMemoryBudget(bytes: 1 << 20)
        let stream = FakeServerStream()
        let reader = RequestReader(
            stream: stream, deframer: MessageDeframer(maxMessageSize: 1 << 20), budget: budget)
        let framed = try MessageFramer.frame([UInt8](repeating: 7, count: 1000))
        stream.deliver(Array(framed.prefix(10)))
        let read = Task { try await reader.next() }
        try await waitUntil { budget.reservedBytes == framed.count }
        stream.deliver(Array(framed.dropFirst(10)))
        #expect(try await read.value?.count == 1000)
        #expect(budget.reservedBytes == 0)
    }

    @Test func aCallWaitsWhileTheBudgetIsSpentAndGoesOnWhenItIsFreed() async throws {
        let budget = RequestMemoryBudget(bytes: 1500)
        let first = FakeServerStream()
        let second = FakeServerStream()
        let firstReader = RequestReader(
            stream: first, deframer: MessageDeframer(maxMessageSize: 1 << 20), budget: budget)
        let secondReader = RequestReader(
            stream: second, deframer: MessageDeframer(maxMessageSize: 1 << 20), budget: budget)
        let message = try MessageFramer.frame([UInt8](repeating: 1, count: 1000))
        first.deliver(Array(message.prefix(5)))
        second.deliver(Array(message.prefix(5)))
        let firstRead = Task { try await firstReader.next() }
        try await waitUntil { budget.reservedBytes == message.count }
        let secondRead = Task { try await secondReader.next() }
        // The second call cannot reserve its 1005 bytes beside the first's.
        try await Task.sleep(for: .milliseconds(100))
        #expect(budget.reservedBytes == message.count)
        first.deliver(Array(message.dropFirst(5)))
        #expect(try await firstRead.value?.count == 1000)
        second.deliver(Array(message.dropFirst(5)))
        #expect(try await secondRead.value?.count == 1000)
        #expect(budget.reservedBytes == 0)
    }

    /// One client declaring large messages and sending them slowly holds at most its share;
    /// another client's message is reserved beside it at once.
    @Test func oneHolderReservesAtMostItsShare() async throws {
        let budget = RequestMemoryBudget(bytes: 4000, perHolderShare: 1500, patience: .milliseconds(200))
        let message = try MessageFramer.frame([UInt8](repeating: 1, count: 1000))
        func reader(_ holder: String) -> (FakeServerStream, RequestReader) {
            let stream = FakeServerStream()
            stream.deliver(Array(message.prefix(5)))
            return (stream, RequestReader(
                stream: stream, deframer: MessageDeframer(maxMessageSize: 1 << 20), budget: budget, holder: holder))
        }
        let (firstStream, first) = reader("CN=greedy")
        let firstRead = Task { try await first.next() }
        try await waitUntil { budget.reservedBytes == message.count }
        // The same holder's second message would pass its share: it waits, then fails.
        let (_, second) = reader("CN=greedy")
        let error = await #expect(throws: RPCError.self) { try await second.next() }
        #expect(error?.code == .unavailable && error?.message.contains("share") == true)
        // Another holder is reserved beside it.
        let (otherStream, other) = reader("CN=other")
        let otherRead = Task { try await other.next() }
        try await waitUntil { budget.reservedBytes == 2 * message.count }
        otherStream.deliver(Array(message.dropFirst(5)))
        #expect(try await otherRead.value?.count == 1000)
        firstStream.deliver(Array(message.dropFirst(5)))
        #expect(try await firstRead.value?.count == 1000)
        #expect(budget.reservedBytes == 0)
    }

    @Test func aCallThatEndsMidMessageReleasesItsReservation() async throws {
        let budget = RequestMemoryBudget(bytes: 1 << 20)
        var reader: RequestReader? = nil
        let stream = FakeServerStream()
        reader = RequestReader(stream: stream, deframer: MessageDeframer(maxMessageSize: 1 << 20), budget: budget)
        stream.deliver([0, 0, 0, 0x10, 0])
        stream.reset()
        await #expect(throws: RPCError.self) { try await reader?.next() }
        #expect(budget.reservedBytes == 4096 + 5)
        reader = nil
        #expect(budget.reservedBytes == 0)
    }

    @Test func aCallThatWaitsPastItsPatienceFailsUnavailable() async throws {
        let budget = RequestMemoryBudget(bytes: 100, patience: .milliseconds(100))
        let holder = FakeServerStream()
        let holderReader = RequestReader(
            stream: holder, deframer: MessageDeframer(maxMessageSize: 1 << 20), budget: budget)
        holder.deliver([0, 0, 0, 0, 50])
        let held = Task { try await holderReader.next() }
        try await waitUntil { budget.reservedBytes == 55 }
        let waiter = FakeServerStream()
        let waiterReader = RequestReader(
            stream: waiter, deframer: MessageDeframer(maxMessageSize: 1 << 20), budget: budget)
        waiter.deliver([0, 0, 0, 0, 50])
        let error = await #expect(throws: RPCError.self) { try await waiterReader.next() }
        #expect(error?.code == .unavailable)
        holder.reset()
        _ = try? await held.value
    }

    @Test func streamsOfOneConnectionShareItsBudgetBesideTheProcessBudget() async throws {
        let process = RequestMemoryBudget(bytes: 1 << 20)
        let connection = RequestMemoryBudget(bytes: 1500)
        let first = FakeServerStream()
        let second = FakeServerStream()
        first.connectionRequestMemory = connection
        second.connectionRequestMemory = connection
        let firstReader = RequestReader(
            stream: first, deframer: MessageDeframer(maxMessageSize: 1 << 20), budget: process)
        let secondReader = RequestReader(
            stream: second, deframer: MessageDeframer(maxMessageSize: 1 << 20), budget: process)
        let message = try MessageFramer.frame([UInt8](repeating: 2, count: 1000))
        first.deliver(Array(message.prefix(5)))
        second.deliver(Array(message.prefix(5)))
        let firstRead = Task { try await firstReader.next() }
        try await waitUntil { connection.reservedBytes == message.count }
        #expect(process.reservedBytes == message.count)
        let secondRead = Task { try await secondReader.next() }
        try await Task.sleep(for: .milliseconds(100))
        // The connection's budget holds the second call back although the process has room.
        #expect(connection.reservedBytes == message.count)
        first.deliver(Array(message.dropFirst(5)))
        #expect(try await firstRead.value?.count == 1000)
        second.deliver(Array(message.dropFirst(5)))
        #expect(try await secondRead.value?.count == 1000)
        #expect(connection.reservedBytes == 0 && process.reservedBytes == 0)
    }

    /// A call reserving in its connection's budget and then in the process's waits its
    /// patience once across both (the reader gives every budget one deadline), so a budget
    /// waits until the deadline it is given, not its own patience from when it was asked.
    @Test func aReservationWaitsUntilTheDeadlineItIsGiven() async throws {
        let budget = RequestMemoryBudget(bytes: 100, patience: .seconds(60))
        try await budget.reserve(100, for: "CN=a", until: .now + .seconds(60))
        let started = ContinuousClock.now
        let error = await #expect(throws: RPCError.self) {
            try await budget.reserve(50, for: "CN=b", until: .now + .milliseconds(50))
        }
        #expect(error?.code == .unavailable)
        #expect(ContinuousClock.now - started < .seconds(30), "the budget's own 60 s patience applied")
        budget.release(100, for: "CN=a")
        #expect(budget.reservedBytes == 0)
    }

    private func waitUntil(_ condition: () -> Bool) async throws {
        for _ in 0..<500 where !condition() {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(condition())
    }
}
