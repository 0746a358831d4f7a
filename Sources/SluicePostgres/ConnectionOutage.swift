import SluiceBackoff

/// What a `PostgresPool` knows while connecting fails (the server refuses: too many clients,
/// starting up, authentication; no socket; no answer within `connect_timeout`): the last
/// failure, how many attempts in a row failed, and when the next one is due.
///
/// While it lasts, a call that no connected worker can take fails at once with ``refusal``
/// rather than making an attempt of its own: a saturated database is not sent a connection
/// per caller, and no caller waits behind other callers' attempts (each lasting up to
/// `connect_timeout`). One worker at a time tries again, on the `Backoff`, without a call, so
/// the pool comes back by itself once the database accepts connections again.
struct ConnectionOutage {
    private(set) var failures = 1
    private(set) var lastError: PostgresError
    /// When the next attempt may start.
    private(set) var retryAt: ContinuousClock.Instant
    /// Whether a worker is making that attempt now.
    var attempting = false

    init(_ error: PostgresError, backoff: Backoff) {
        lastError = error
        retryAt = .now + backoff.delay(beforeRetry: 1)
    }

    /// An attempt on the backoff failed too: the next waits longer.
    mutating func attemptFailed(_ error: PostgresError, backoff: Backoff) {
        failures += 1
        lastError = error
        retryAt = .now + backoff.delay(beforeRetry: failures)
        attempting = false
    }

    /// A call's own attempt failed meanwhile (on a worker whose connection broke): a fresher
    /// cause for the log, the schedule stays.
    mutating func alsoFailed(_ error: PostgresError) {
        lastError = error
    }

    /// Whether a worker without a connection should make the next attempt now.
    var attemptDue: Bool { !attempting && ContinuousClock.now >= retryAt }

    /// The error of a call refused meanwhile: a connection failure with libpq's words about the
    /// last attempt (for the server's log; the service layer shows its client none of it).
    var refusal: PostgresError {
        var error = lastError
        error.failedConnectionAttempts = failures
        return error
    }
}
