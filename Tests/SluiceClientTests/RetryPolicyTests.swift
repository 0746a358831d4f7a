import SluiceRPC
import Synchronization
import Testing

@testable import SluiceClient

/// Exponential backoff with full jitter, and which failures are retried.
@Suite struct RetryPolicyTests {
    @Test func ceilingDoublesFromTheBaseUpToTheCap() {
        let policy = RetryPolicy(maxRetries: 8, baseDelay: .milliseconds(200), maxDelay: .seconds(10))
        #expect(policy.delayCeiling(beforeRetry: 1) == .milliseconds(200))
        #expect(policy.delayCeiling(beforeRetry: 2) == .milliseconds(400))
        #expect(policy.delayCeiling(beforeRetry: 3) == .milliseconds(800))
        #expect(policy.delayCeiling(beforeRetry: 6) == .milliseconds(6400))
        #expect(policy.delayCeiling(beforeRetry: 7) == .seconds(10))
        #expect(policy.delayCeiling(beforeRetry: 60) == .seconds(10))
    }

    @Test func jitterStaysBetweenZeroAndTheCeiling() {
        let policy = RetryPolicy()
        var generator = SystemRandomNumberGenerator()
        for retry in 1...10 {
            for _ in 0..<200 {
                let delay = policy.delay(beforeRetry: retry, using: &generator)
                #expect(delay >= .zero && delay <= policy.delayCeiling(beforeRetry: retry))
            }
        }
    }

    @Test func jitterIsSpreadOut() {
        let policy = RetryPolicy()
        var generator = SystemRandomNumberGenerator()
        let delays = (0..<200).map { _ in policy.delay(beforeRetry: 5, using: &generator) }
        let ceiling = policy.delayCeiling(beforeRetry: 5)
        #expect(delays.contains { $0 < ceiling / 4 })
        #expect(delays.contains { $0 > ceiling * 3 / 4 })
    }

    @Test func retriesTransientFailuresUntilSuccess() async throws {
        let policy = RetryPolicy(maxRetries: 3, baseDelay: .milliseconds(1), maxDelay: .milliseconds(2))
        let calls = Atomic<Int>(0)
        var notices: [RetryNotice] = []
        let result = try await policy.run("op", onRetry: { notices.append($0) }) { () async throws -> Int in
            let call = calls.add(1, ordering: .relaxed).newValue
            if call < 3 { throw RPCError(.unavailable, "down") }
            return call
        }
        #expect(result == 3)
        #expect(notices.map(\.retry) == [1, 2])
        #expect(notices.allSatisfy { $0.operation == "op" && $0.error.code == .unavailable })
    }

    @Test(arguments: [StatusCode.unavailable, .deadlineExceeded, .resourceExhausted, .aborted])
    func givesUpOnTransientFailuresAfterMaxRetries(code: StatusCode) async {
        let policy = RetryPolicy(maxRetries: 2, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1))
        let calls = Atomic<Int>(0)
        await #expect(throws: RetriesExhaustedError.self) {
            try await policy.run("op") { () async throws -> Void in
                calls.add(1, ordering: .relaxed)
                throw RPCError(code, "busy")
            }
        }
        #expect(calls.load(ordering: .relaxed) == 3)
    }

    @Test(arguments: [
        StatusCode.invalidArgument, .notFound, .permissionDenied, .unauthenticated, .failedPrecondition, .dataLoss,
        .internal, .cancelled,
    ])
    func doesNotRetryPermanentFailures(code: StatusCode) async {
        let policy = RetryPolicy(maxRetries: 5, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1))
        let calls = Atomic<Int>(0)
        await #expect(throws: RPCError.self) {
            try await policy.run("op") { () async throws -> Void in
                calls.add(1, ordering: .relaxed)
                throw RPCError(code, "no")
            }
        }
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test func aTLSFailureIsNotRetried() async {
        let policy = RetryPolicy(maxRetries: 5, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1))
        let calls = Atomic<Int>(0)
        await #expect(throws: RPCError.self) {
            try await policy.run("op") { () async throws -> Void in
                calls.add(1, ordering: .relaxed)
                throw RPCError(.unavailable, "TLS failed: certificate verify failed")
            }
        }
        #expect(calls.load(ordering: .relaxed) == 1)
    }

    @Test func waitsExactlyTheServersPushbackInsteadOfTheBackoff() async throws {
        let policy = RetryPolicy(maxRetries: 3, baseDelay: .seconds(5), maxDelay: .seconds(5))
        let calls = Atomic<Int>(0)
        var notices: [RetryNotice] = []
        let answer = try await policy.run("op", onRetry: { notices.append($0) }) { () async throws -> Int in
            guard calls.add(1, ordering: .relaxed).newValue > 1 else {
                throw RPCError(.resourceExhausted, "slow down", trailers: ["grpc-retry-pushback-ms": .string("20")])
            }
            return 7
        }
        #expect(answer == 7)
        #expect(notices.map(\.delay) == [.milliseconds(20)])
    }

    @Test func aNegativePushbackOrAQuotaIsNotRetried() async {
        let policy = RetryPolicy(maxRetries: 5, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1))
        for trailers: Metadata in [["grpc-retry-pushback-ms": .string("-1")], ["sluice-exhausted": .string("quota")]] {
            let calls = Atomic<Int>(0)
            await #expect(throws: RPCError.self) {
                try await policy.run("op") { () async throws -> Void in
                    calls.add(1, ordering: .relaxed)
                    throw RPCError(.resourceExhausted, "over quota", trailers: trailers)
                }
            }
            #expect(calls.load(ordering: .relaxed) == 1)
        }
    }

    @Test func pushbackRetriesDoNotUseUpTheRetriesButTheirTotalWaitIsBounded() async throws {
        let paced = RetryPolicy(maxRetries: 1, baseDelay: .milliseconds(1), maxDelay: .milliseconds(1))
        let calls = Atomic<Int>(0)
        let pushback: Metadata = ["grpc-retry-pushback-ms": .string("1")]
        let answer = try await paced.run("op") { () async throws -> Int in
            guard calls.add(1, ordering: .relaxed).newValue > 5 else {
                throw RPCError(.resourceExhausted, "slow down", trailers: pushback)
            }
            return 1
        }
        #expect(answer == 1 && calls.load(ordering: .relaxed) == 6)
        let bounded = RetryPolicy(maxRetries: 1, maxPushbackTotal: .milliseconds(3))
        let tries = Atomic<Int>(0)
        await #expect(throws: RetriesExhaustedError.self) {
            try await bounded.run("op") { () async throws -> Void in
                tries.add(1, ordering: .relaxed)
                throw RPCError(.resourceExhausted, "slow down", trailers: pushback)
            }
        }
        #expect(tries.load(ordering: .relaxed) == 4)
    }

    @Test func aPushbackLongerThanTheCeilingIsCapped() {
        let policy = RetryPolicy(maxPushback: .seconds(2))
        let error = RPCError(.resourceExhausted, "x", trailers: ["grpc-retry-pushback-ms": .string("600000")])
        #expect(policy.pushback(of: error) == .seconds(2))
    }
}
