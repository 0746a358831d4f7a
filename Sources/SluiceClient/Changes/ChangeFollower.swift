import Foundation
import SluiceProto
import SluiceRPC

/// Follows the change feed: watches from a cursor, hands every response to the caller (who
/// saves its cursor), and when the stream breaks transiently (the server restarted, the
/// network dropped) watches again from the last cursor after the retry policy's backoff.
/// Resuming from the cursor means nothing is lost and nothing repeats. A response resets
/// the retry count: only failures in a row use the retries up.
public struct ChangeFollower: Sendable {
    private let changes: Sluice_V1_ChangeServiceClient
    private let retry: RetryPolicy

    public init(client: RPCClient, retry: RetryPolicy = RetryPolicy()) {
        self.changes = Sluice_V1_ChangeServiceClient(client)
        self.retry = retry
    }

    /// Watches until cancelled or a failure that retrying cannot help (OUT_OF_RANGE for a
    /// cursor past the retention, a bad request); `onRetry` hears about each reconnection.
    public func follow(
        from cursor: String, owner: String, prefix: String,
        onRetry: @escaping @Sendable (RetryNotice) -> Void = { _ in },
        onResponse: @escaping @Sendable (Sluice_V1_WatchChangesResponse) throws -> Void
    ) async throws {
        let last = LastCursor(cursor)
        while true {
            do {
                try await retry.run("watch", onRetry: onRetry) {
                    var request = Sluice_V1_WatchChangesRequest()
                    request.cursor = last.value
                    request.owner = owner
                    request.prefix = prefix
                    try await changes.watchChanges(request) { responses in
                        for try await response in responses {
                            try onResponse(response)
                            last.value = response.cursor
                        }
                    }
                }
            } catch let error as RPCError where error.code == .aborted {
                // Ended for falling behind: resume from the cursor it names (ours).
                onRetry(RetryNotice(operation: "watch", retry: 0, delay: .zero, error: error))
            }
        }
    }
}

/// The cursor of the last response handled, shared with the response callback.
private final class LastCursor: @unchecked Sendable {
    // @unchecked: written only by the one task that reads responses, read by that task before
    // the next call; the lock guards against nothing more than the compiler's doubt.
    private let lock = NSLock()
    private var cursor: String

    init(_ cursor: String) { self.cursor = cursor }

    var value: String {
        get { lock.withLock { cursor } }
        set { lock.withLock { cursor = newValue } }
    }
}
