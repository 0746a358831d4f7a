import NIOCore
@testable import SluiceHTTP2
import SluiceRPC
import Testing

/// The counting behind the HTTP/2 abuse defences: the reset budget of a connection and
/// the header block that is abandoned far past the header list limit.
@Suite struct AbuseAccountingTests {
    @Test func resetBudgetAllowsABurstThenRefillsAtItsRate() {
        var limit = ResetRateLimit()
        limit.burst = 10
        limit.perSecond = 5
        let start = NIODeadline.now()
        var bucket = ResetBucket(limit: limit, now: start)
        let burst = (0..<10).map { _ in bucket.take(now: start) }
        #expect(burst.allSatisfy { $0 })
        let pastBurst = bucket.take(now: start)
        #expect(!pastBurst)
        // One second refills five.
        var refilled = ResetBucket(limit: limit, now: start)
        for _ in 0..<10 { _ = refilled.take(now: start) }
        let later = start + .seconds(1)
        let refill = (0..<5).map { _ in refilled.take(now: later) }
        #expect(refill.allSatisfy { $0 })
        let pastRefill = refilled.take(now: later)
        #expect(!pastRefill)
    }

    @Test func headerBlockKeepsFieldsUnderTheLimitDropsThemPastItAndIsAbandonedFarPastIt() {
        let block = PendingHeaderBlock(streamID: 1)
        let limit = 1000
        #expect(block.add(nameLength: 4, valueLength: 4, limit: limit) { HeaderField("name", "vals") })
        #expect(block.fields.count == 1 && !block.oversized)
        // Past the limit: fields dropped, the block goes on (it will be answered RESOURCE_EXHAUSTED).
        #expect(block.add(nameLength: 1, valueLength: 1000, limit: limit) { HeaderField("x", "y") })
        #expect(block.oversized && block.fields.isEmpty)
        // Past four times the limit: abandoned.
        var abandoned = false
        for _ in 0..<10 where !abandoned {
            abandoned = !block.add(nameLength: 1, valueLength: 1000, limit: limit) { HeaderField("x", "y") }
        }
        #expect(abandoned)
        #expect(block.size > limit * PendingHeaderBlock.abandonFactor)
    }
}
