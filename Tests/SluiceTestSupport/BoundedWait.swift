/// A wait in a test that did not end as it should: what was waited for did not happen in time,
/// or the call that was to bring it about ended first (its error is in the message). Thrown so
/// that the test fails and says why, where an unbounded wait would hang the whole run.
public struct BoundedWaitFailure: Error, CustomStringConvertible {
    public let description: String
}

/// Polls `condition` every few milliseconds until it holds (it may query, e.g. the database).
///
/// - Parameters:
///   - what: what is waited for, for the failure's message ("the holder has the connection").
///   - timeout: how long to wait at most.
///   - call: the call that is to make `condition` hold, if any: when it ends first (it failed,
///     e.g. PostgreSQL refused its connection), the wait fails at once with the call's error.
/// - Throws: `BoundedWaitFailure`; `CancellationError` when the test is cancelled.
public func waitUntil<Value>(
    _ what: String, timeout: Duration = .seconds(30), whileRunning call: BackgroundCall<Value>? = nil,
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        switch call?.ended {
        case .failure(let error)?:
            throw BoundedWaitFailure(description: "waiting until \(what): the call that was to bring it about failed: \(error)")
        case .success?:
            throw BoundedWaitFailure(description: "waiting until \(what): the call that was to bring it about ended first")
        case nil:
            break
        }
        guard ContinuousClock.now < deadline else {
            throw BoundedWaitFailure(description: "waited \(timeout) until \(what), in vain")
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// ``waitUntil(_:timeout:whileRunning:_:)`` without a call to watch.
public func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
    try await waitUntil(what, timeout: timeout, whileRunning: BackgroundCall<Void>?.none, condition)
}
