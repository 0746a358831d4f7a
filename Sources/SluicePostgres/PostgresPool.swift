import SluiceBackoff

/// A fixed set of PostgreSQL connections for async code.
///
/// libpq blocks its caller, and blocking calls must stay off the event loops and off Swift's
/// cooperative thread pool. So each connection belongs to a worker thread of its own (plain
/// threads, not the cooperative pool); `withConnection` and `transaction` queue their body for
/// the next free worker and suspend, without blocking, until it is done. Waiting calls are served
/// first come, first served. A call cancelled while it waits leaves the queue and throws
/// `CancellationError`; a call cancelled while its body runs has the statement it is running
/// cancelled (the body sees the statement fail with SQLSTATE 57014, and a transaction is rolled
/// back), so a caller that gave up never holds a connection while a statement waits.
///
/// Connections are opened on first use (so `init` never blocks), and a connection found broken
/// is reset (reconnected) before its next use. When connecting fails (the server refuses, is
/// starting up or gone, no answer within `connect_timeout`), the calls waiting fail with that
/// connection failure at once unless a worker still has a connection to serve them, new ones
/// too, and the pool tries again by itself on its backoff (see `ConnectionOutage`). Each
/// session is set up as `PostgresConnection` describes; a body that leaves a transaction open
/// has it rolled back before the connection is used again.
///
/// ```swift
/// let pool = try PostgresPool(url: "postgresql:///sluice?host=/run/postgresql", size: 4)
/// let names = try await pool.withConnection { connection in
///     try connection.execute("SELECT name FROM principals").rows.map { try $0.string("name") }
/// }
/// try await pool.transaction(isolation: .serializable) { connection in ... }
/// pool.close()
/// ```
public final class PostgresPool: Sendable {
    /// Transaction isolation levels (BEGIN ISOLATION LEVEL ...).
    public enum IsolationLevel: Sendable, Hashable {
        case readCommitted
        case repeatableRead
        case serializable

        var sql: String {
            switch self {
            case .readCommitted: "READ COMMITTED"
            case .repeatableRead: "REPEATABLE READ"
            case .serializable: "SERIALIZABLE"
            }
        }
    }

    /// The number of connections (and worker threads).
    public let size: Int
    /// How many times `transaction` runs a body that keeps failing with a serialization failure
    /// or deadlock before giving up and throwing that error.
    public let maxTransactionAttempts: Int

    private let scheduler: PoolScheduler
    /// The pause before a transaction that lost a race runs again: up to 10, 20, 40, 80, 160,
    /// then 200 ms.
    private static let raceBackoff = Backoff(baseDelay: .milliseconds(10), maxDelay: .milliseconds(200))
    /// The pause between connection attempts while connecting fails: up to 0.1, 0.2, 0.4... then
    /// 2 s, so a pool comes back within about 2 s of the database, and a saturated database gets
    /// about one attempt per pool every second. Public for the other long-lived connections to
    /// the database (the change listener), which reconnect the same way.
    public static let reconnectBackoff = Backoff(baseDelay: .milliseconds(100), maxDelay: .seconds(2))

    /// - Parameters:
    ///   - url: a libpq connection string (URI or `key=value` pairs), as for `PostgresConnection`.
    ///   - overrides: connection keywords that replace what `url` says (e.g. `["dbname": "x"]`).
    ///     Unless set in either, `application_name` is "sluice" and `connect_timeout` 10 seconds.
    ///   - size: the number of connections, at least 1.
    ///   - maxTransactionAttempts: see the property, at least 1.
    ///   - lockTimeout: the longest a statement waits for a lock (PostgreSQL's `lock_timeout`,
    ///     set for every session, added to any `options` the URL gives); past it the statement
    ///     fails with SQLSTATE 55P03 (``PostgresError/isTimeout``). Nil waits for ever.
    /// - Throws: `PostgresError` of kind `.connection` when `url` is malformed. Nothing connects
    ///   yet: a server that is down shows up as errors from the first calls.
    public init(
        url: String, overrides: [String: String] = [:], size: Int = 4, maxTransactionAttempts: Int = 5,
        lockTimeout: Duration? = nil
    ) throws {
        precondition(size >= 1, "a PostgresPool needs at least one connection")
        precondition(maxTransactionAttempts >= 1, "maxTransactionAttempts must be at least 1")
        var overrides = overrides
        let looksLikeConnectionString =
            url.contains("=") || url.hasPrefix("postgresql://") || url.hasPrefix("postgres://")
        let settings = looksLikeConnectionString ? try PostgresConnection.settings(of: url) : [:]
        for (keyword, value) in ["application_name": "sluice", "connect_timeout": "10"]
        where settings[keyword] == nil && overrides[keyword] == nil {
            overrides[keyword] = value
        }
        if let lockTimeout {
            let milliseconds = max(1, Int((lockTimeout / .milliseconds(1)).rounded(.up)))
            let given = overrides["options"] ?? settings["options"] ?? ""
            overrides["options"] = (given.isEmpty ? "" : given + " ") + "-c lock_timeout=\(milliseconds)"
        }
        self.size = size
        self.maxTransactionAttempts = maxTransactionAttempts
        let connectionOverrides = overrides
        scheduler = PoolScheduler(size: size, reconnectBackoff: Self.reconnectBackoff) {
            try PostgresConnection(url: url, overrides: connectionOverrides)
        }
    }

    deinit {
        scheduler.shutdown()
    }

    /// Runs `body` with a connection of the pool, on the pool's worker thread, and returns what it
    /// returns. The body may run any statements, transactions included; a transaction it leaves
    /// open is rolled back.
    ///
    /// - Throws: what `body` throws; `PostgresError` (`.connection`) when no connection could be
    ///   made, `.poolClosed` after `close()`; `CancellationError` when cancelled while waiting.
    ///
    /// A connection that cannot be had fails the call at once (the pool tries again on its
    /// backoff, not per call); a connection that breaks while the body runs fails the call (a
    /// `.connection` error), since a statement already sent may or may not have taken effect.
    ///
    /// A `.background` call waits until no other does (at most 250 ms), and shares at most half
    /// the pool with other background calls (see ``JobPriority``).
    @discardableResult
    public func withConnection<T: Sendable>(
        priority: JobPriority = .normal, _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await scheduler.submit(priority) { worker in try body(try worker.checkout()) }
    }

    /// Runs `body` in a transaction: BEGIN (at `isolation`), the body, COMMIT; ROLLBACK when the
    /// body throws. The whole transaction runs again, after a short random pause, when it fails
    /// with a serialization failure or deadlock (40001, 40P01), up to `maxTransactionAttempts` in
    /// all, so the body must be safe to run more than once (no side effects outside the database,
    /// or idempotent ones).
    ///
    /// BEGIN is sent with the body's first statement (one round trip fewer). A connection that
    /// breaks before COMMIT was sent lost nothing (PostgreSQL rolls back the transaction of a
    /// session that ends), so the whole transaction runs once more on a fresh connection. A connection that breaks during COMMIT fails the call with a
    /// `.connection` error whose `commitOutcomeUnknown` is set: whether it committed is unknown.
    ///
    /// A body that catches a statement's error and carries on leaves the transaction aborted;
    /// COMMIT would quietly roll back, so this throws a `.transaction` error instead.
    ///
    /// A caller that gives up (its task is cancelled) before COMMIT is sent gets
    /// `CancellationError`, and the transaction is rolled back: a call answered with an error
    /// (its deadline passed, its client went away) leaves nothing behind unless its COMMIT was
    /// already under way.
    @discardableResult
    public func transaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        var attempt = 1
        var rerunAfterConnectionLoss = false
        while true {
            do {
                return try await scheduler.submit { worker in
                    try worker.runTransaction(isolation: isolation, body)
                }
            } catch let error as PostgresError
                where error.isConnectionFailure && !error.commitOutcomeUnknown && !rerunAfterConnectionLoss
            {
                rerunAfterConnectionLoss = true
            } catch let error as PostgresError where error.isSerializationFailure && attempt < maxTransactionAttempts {
                // Random pause, growing with the attempt, so that the racing transactions spread out.
                try await Task.sleep(for: Self.raceBackoff.delay(beforeRetry: attempt))
                attempt += 1
            }
        }
    }

    /// Stops the pool: calls still waiting fail with `.poolClosed`, running bodies finish, then
    /// each worker closes its connection and ends. Returns at once; see `closeAndWait()`.
    public func close() {
        scheduler.shutdown()
    }

    /// `close()`, then waits until every connection is closed.
    public func closeAndWait() async {
        scheduler.shutdown()
        await scheduler.waitUntilStopped()
    }
}
