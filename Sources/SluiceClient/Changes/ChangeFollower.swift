import SluiceProto
import SluiceRPC
import Synchronization

/// Follows the change feed: watches from a cursor, hands every response to the caller (who
/// saves its cursor), and when the stream breaks transiently (the server restarted, the
/// network dropped, ABORTED for falling behind) watches again from the last cursor after
/// the retry policy's backoff. Resuming from the cursor means nothing is lost and nothing
/// repeats. Only failures in a row use the retries up: a watch the server took (its response
/// headers came) or that received anything starts counting afresh.
public struct ChangeFollower: Sendable {
    private let changes: Sluice_V1_ChangeServiceClient
    private let retry: RetryPolicy

    public init(client: RPCClient, retry: RetryPolicy = RetryPolicy()) {
        self.changes = Sluice_V1_ChangeServiceClient(client)
        self.retry = retry
    }

    /// Watches until cancelled or a failure that retrying cannot help (OUT_OF_RANGE for a
    /// cursor past the retention, a bad request, retries used up); `onRetry` hears about
    /// each reconnection.
    public func follow(
        from cursor: String, owner: String, prefix: String,
        onRetry: @escaping @Sendable (RetryNotice) -> Void = { _ in },
        onResponse: @escaping @Sendable (Sluice_V1_WatchChangesResponse) throws -> Void
    ) async throws {
        let last = LastCursor(cursor)
        var generator = SystemRandomNumberGenerator()
        var failures = 0
        while true {
            let before = last.value
            let taken = Mutex(false)
            do {
                var request = Sluice_V1_WatchChangesRequest()
                request.cursor = before
                request.owner = owner
                request.prefix = prefix
                try await changes.watchChanges(request) { responses in
                    _ = try await responses.initialMetadata()
                    taken.withLock { $0 = true }
                    for try await response in responses {
                        try onResponse(response)
                        last.value = response.cursor
                    }
                }
                failures = 0      // the server ended the stream (shutting down): watch again
            } catch let error as RPCError where FailureKind(error) == .transient {
                failures = taken.withLock({ $0 }) || last.value != before ? 1 : failures + 1
                guard failures <= retry.maxRetries else {
                    throw RetriesExhaustedError(operation: "watch", attempts: failures, lastError: error)
                }
                let delay = retry.delay(beforeRetry: failures, using: &generator)
                onRetry(RetryNotice(operation: "watch", retry: failures, delay: delay, error: error))
                try await Task.sleep(for: delay)
            }
        }
    }
}

/// The cursor of the last response handled, shared with the response callback.
private final class LastCursor: Sendable {
    private let cursor: Mutex<String>

    init(_ cursor: String) { self.cursor = Mutex(cursor) }

    var value: String {
        get { cursor.withLock { $0 } }
        set { cursor.withLock { $0 = newValue } }
    }
}
