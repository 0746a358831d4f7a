import CLibPQ

/// Asks the server to cancel the statement one session is running (libpq's `PQcancel`), from
/// any thread: it sends the request over a connection of its own and does not touch the
/// session, whose blocked call then returns the statement's error (SQLSTATE 57014).
///
/// A request is only a request: a statement that ends first is not affected, and a session
/// that is idle when the request arrives ignores it. One that arrives just as the session
/// starts its next statement may cancel that one instead, so ask only while the work that
/// wants to stop is the session's (as `PostgresPool` does).
// Safe because PQcancel is documented as safe to call from any thread on a PGcancel object,
// and the object is freed only in deinit, when no call can be running.
public final class PostgresCanceller: @unchecked Sendable {
    private let handle: OpaquePointer

    init?(_ connection: OpaquePointer) {
        guard let handle = PQgetCancel(connection) else { return nil }
        self.handle = handle
    }

    deinit {
        PQfreeCancel(handle)
    }

    /// Sends the request; returns whether it was sent (not whether the statement stopped).
    @discardableResult
    public func cancel() -> Bool {
        var message = [CChar](repeating: 0, count: 256)
        return PQcancel(handle, &message, Int32(message.count)) == 1
    }
}
