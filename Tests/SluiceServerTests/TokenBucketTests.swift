import SluiceServer
import SluiceStore
import Synchronization
import Testing

/// The rate limiter's buckets, driven by a clock the test moves by hand.
@Suite struct TokenBucketTests {
    @Test func startsFullAndRefusesPastItsBurstWithTheWaitUntilTheNextToken() {
        var bucket = TokenBucket(rate: 4, now: .zero)
        for _ in 0..<4 { #expect(bucket.take(now: .zero) == nil) }
        #expect(bucket.take(now: .zero) == .milliseconds(250))
        // A refusal takes nothing; the next refused taker is sent one token later, so that
        // waiters do not all come back at once.
        #expect(bucket.take(now: .milliseconds(100)) == .milliseconds(400))
        #expect(bucket.take(now: .milliseconds(250)) == nil)
    }

    @Test func refusedTakersAreGivenStaggeredTimesThatAllWork() {
        var bucket = TokenBucket(rate: 10, now: .zero)
        for _ in 0..<10 { _ = bucket.take(now: .zero) }
        let waits = (0..<4).map { _ in bucket.take(now: .zero)! }
        #expect(waits == [.milliseconds(100), .milliseconds(200), .milliseconds(300), .milliseconds(400)])
        // Each comes back at its time and finds its token.
        for wait in waits { #expect(bucket.take(now: wait) == nil) }
        // Promises in the past are forgotten.
        #expect(bucket.take(now: .seconds(10)) == nil)
    }

    /// Promises are not reservations: a caller hammering its limit (or callers that give up
    /// instead of waiting) must not push the pushback out by a token per refusal. Past the
    /// horizon the promised times start over from the next token, still one token apart.
    @Test func pushbacksStayWithinTheHorizonHoweverManyAreRefused() {
        var bucket = TokenBucket(rate: 5, now: .zero)
        for _ in 0..<5 { _ = bucket.take(now: .zero) }
        let waits = (0..<200).map { _ in bucket.take(now: .zero)! }
        #expect(waits.max()! < .milliseconds(200) + TokenBucket.promiseHorizon)
        #expect(Array(waits.prefix(11)) == (1...10).map { .milliseconds(200 * $0) } + [.milliseconds(200)])
        // Refusals spread over time keep within it too, and a token that is there is taken.
        var later = Duration.zero
        for _ in 0..<100 {
            later += .milliseconds(20)
            if let wait = bucket.take(now: later) { #expect(wait < .milliseconds(200) + TokenBucket.promiseHorizon) }
        }
    }

    @Test func refillsAtItsRateButNeverPastOneSecondOfBurst() {
        var bucket = TokenBucket(rate: 10, now: .zero)
        for _ in 0..<10 { _ = bucket.take(now: .zero) }
        #expect(bucket.tokens == 0)
        _ = bucket.take(0, now: .milliseconds(500))
        #expect(bucket.tokens == 5)
        _ = bucket.take(0, now: .seconds(60))
        #expect(bucket.tokens == 10)
    }

    @Test func byteTakersGoIntoDebtAndWaitItOff() {
        var bucket = TokenBucket(rate: 1000, now: .zero)
        #expect(bucket.takeOwing(600, now: .zero) == .zero)
        // A message larger than what is left passes, and its taker waits for the debt.
        #expect(bucket.takeOwing(900, now: .zero) == .milliseconds(500))
        #expect(bucket.takeOwing(0, now: .milliseconds(500)) == .zero)
        // Larger than the whole bucket: two seconds of debt after the burst.
        var big = TokenBucket(rate: 1000, now: .zero)
        #expect(big.takeOwing(3000, now: .zero) == .seconds(2))
    }

    @Test func aNewRateKeepsTheTokensUpToTheNewCapacity() {
        var bucket = TokenBucket(rate: 100, now: .zero)
        bucket.setRate(10, now: .zero)
        #expect(bucket.tokens == 10 && bucket.capacity == 10 && bucket.rate == 10)
        bucket.setRate(1000, now: .zero)
        #expect(bucket.tokens == 10 && bucket.capacity == 1000)
    }

    @Test func principalsHaveBucketsOfTheirOwn() {
        let clock = ManualClock()
        let limiters = PrincipalLimiters(clock: clock.reading)
        let limited = limiters.limiter(for: 1)
        limited.update(RateLimits(requestsPerSecond: 1))
        let other = limiters.limiter(for: 2)
        other.update(RateLimits(requestsPerSecond: 1))
        #expect(limited.admitRequest() == nil)
        #expect(limited.admitRequest()?.wait == .seconds(1))
        #expect(limited.admitRequest()?.limit == 1)
        #expect(other.admitRequest() == nil, "one principal's exhausted bucket does not touch another's")
        #expect(limiters.limiter(for: 1) === limited)
        clock.set(.seconds(1))
        #expect(limited.admitRequest() == nil)
        // No limit: nothing is refused or paced.
        limited.update(RateLimits())
        for _ in 0..<100 { #expect(limited.admitRequest() == nil) }
        #expect(limited.received(1 << 30) == .zero)
    }

    @Test func bytesArePacedByTheirOwnBuckets() {
        let limiter = PrincipalLimiters(clock: ManualClock().reading).limiter(for: 7)
        limiter.update(RateLimits(bytesInPerSecond: 1000, bytesOutPerSecond: 2000))
        #expect(limiter.received(1000) == .zero)
        #expect(limiter.received(500) == .milliseconds(500))
        #expect(limiter.sent(2000) == .zero)
        #expect(limiter.sent(1000) == .milliseconds(500))
    }

    /// However much is taken, the debt and the wait it makes stay bounded: a wait past Int64's
    /// nanoseconds trapped (a principal at 1 B/s whose calls were cancelled one after another).
    @Test func debtIsBounded() {
        var bucket = TokenBucket(rate: 1, now: .zero)
        var wait = Duration.zero
        for _ in 0..<20_000 { wait = bucket.takeOwing(Double(1 << 20), now: .zero) }
        #expect(wait <= TokenBucket.maxDebt + .seconds(1))
    }

    /// A paced call's step is a second of the rate shared among the principal's calls, at
    /// least a kilobyte.
    @Test func stepsShareTheRateAmongCalls() {
        let limiter = PrincipalLimiters(clock: ManualClock().reading).limiter(for: 9)
        #expect(limiter.requestStep == nil && limiter.responseStep == nil)
        limiter.update(RateLimits(bytesInPerSecond: 64_000, bytesOutPerSecond: 2_000))
        #expect(limiter.requestStep == 64_000 && limiter.responseStep == 2_000)
        for _ in 0..<4 { #expect(limiter.enterCall(limit: 0)) }
        #expect(limiter.requestStep == 16_000 && limiter.responseStep == 1024)
    }

    /// Request bytes are paced chunk by chunk at any rate under 64 MiB/s; above it only while
    /// the principal uses its rate up: with more than half a burst left they pass as they come.
    @Test func requestBytesArePacedChunkByChunkAtLowRatesOrWhileTheRateIsUsedUp() {
        let clock = ManualClock()
        let limiter = PrincipalLimiters(clock: clock.reading).limiter(for: 7)
        #expect(!limiter.pacesBytesIn)
        limiter.update(RateLimits(bytesInPerSecond: 1000))
        #expect(limiter.pacesBytesIn)
        let fast = PrincipalLimiters(clock: clock.reading).limiter(for: 8)
        let rate = PrincipalLimiter.alwaysPacedBelow * 2
        fast.update(RateLimits(bytesInPerSecond: rate))
        #expect(!fast.pacesBytesIn)
        _ = fast.received(Int(rate * 4 / 10))
        #expect(!fast.pacesBytesIn)
        _ = fast.received(Int(rate * 2 / 10))
        #expect(fast.pacesBytesIn)
        clock.set(.milliseconds(200))
        #expect(!fast.pacesBytesIn)
    }
}

/// A clock that moves only when the test says so.
final class ManualClock: Sendable {
    private let now = Mutex<Duration>(.zero)

    func set(_ reading: Duration) { now.withLock { $0 = reading } }

    var reading: @Sendable () -> Duration { { self.now.withLock { $0 } } }
}
