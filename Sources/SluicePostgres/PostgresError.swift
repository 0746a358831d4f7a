/// Every failure SluicePostgres reports: the server's errors (with their SQLSTATE), lost or
/// refused connections, values that do not decode as asked, and misuse of the pool.
///
/// Branch on the helpers rather than on message text:
///
/// ```swift
/// do { try connection.execute("INSERT ...", [...]) }
/// catch let error as PostgresError where error.isUniqueViolation { ... }
/// ```
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    /// Where the failure came from.
    public enum Kind: Sendable, Hashable {
        /// Connecting failed, or the connection broke (the server went away, the socket closed).
        case connection
        /// The server rejected a statement; `sqlState` says why.
        case server
        /// A parameter could not be sent: text holding a NUL character, which PostgreSQL text
        /// cannot hold. Parameters carry data, so this is the data's fault, never the statement's.
        case encoding
        /// The SQL text itself could not be sent (it holds a NUL character): a fault of the code
        /// that wrote the statement, kept apart from ``encoding`` so that it is never taken for bad data.
        case statement
        /// A result value is not what the accessor asked for: missing column, SQL NULL where a
        /// value was required, a different type, or text that does not parse.
        case decoding
        /// A transaction could not commit: the body swallowed an error, so PostgreSQL would roll
        /// back on COMMIT (`transaction` reports that instead of pretending it committed).
        case transaction
        /// The pool was closed before the work could run.
        case poolClosed
        /// Migrations cannot be applied: the database is newer than the code, or a migration failed.
        case migration
        /// libpq answered with something this wrapper does not handle (e.g. COPY).
        case unsupported
    }

    public var kind: Kind
    /// The five-character SQLSTATE code (PG_DIAG_SQLSTATE), e.g. "23505"; nil for failures that did
    /// not come from the server.
    public var sqlState: String?
    /// The primary, human-readable message.
    public var message: String
    /// The server's DETAIL line, e.g. "Key (name)=(a) already exists."
    public var detail: String?
    /// The server's HINT line.
    public var hint: String?
    /// The constraint a violation is about (PG_DIAG_CONSTRAINT_NAME), e.g. "objects_pkey".
    public var constraint: String?
    /// The connection broke while COMMIT was on its way: whether the transaction committed is
    /// unknown, so it must not be run again blindly.
    public var commitOutcomeUnknown = false
    /// Set on a call the pool refused because it cannot connect: how many attempts in a row
    /// failed (it keeps trying on its backoff). `message` is then the last attempt's own.
    public var failedConnectionAttempts: Int?

    public init(
        _ kind: Kind, _ message: String, sqlState: String? = nil, detail: String? = nil,
        hint: String? = nil, constraint: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
    }

    /// 23505 unique_violation: an INSERT or UPDATE collided with a unique index.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// Whether a value was too large for what holds it (54000, program_limit_exceeded): an index
    /// entry holds at most about 2,700 bytes after compression.
    public var isLimitExceeded: Bool { sqlState == "54000" }

    /// 40001 serialization_failure or 40P01 deadlock_detected: the transaction lost a race and
    /// running it again may well succeed. `PostgresPool.transaction` retries these itself.
    public var isSerializationFailure: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// The statement gave up waiting for a lock (`lock_timeout`, SQLSTATE 55P03), or was
    /// cancelled (57014: its caller gave up, or `statement_timeout`): the database did not answer
    /// in time, nothing of the statement took effect.
    public var isTimeout: Bool { sqlState == "55P03" || sqlState == "57014" }

    /// 53100 disk_full: PostgreSQL could not extend a file (a table, an index, its log) for
    /// want of disk space. Reads still work; nothing the statement wrote took effect.
    public var isDiskFull: Bool { sqlState == "53100" }

    /// SQLSTATE class 53, insufficient resources, but for a full disk (``isDiskFull``) and for
    /// refused connections (53300, a connection failure): memory, or a configured limit such as
    /// the lock table's. It passes with the load that caused it.
    public var isShortOfResources: Bool {
        guard let sqlState, sqlState.hasPrefix("53") else { return false }
        return !isDiskFull && !isConnectionFailure
    }

    /// The connection is unusable: could not connect, the connection broke, or the server is
    /// shutting down or refusing connections (SQLSTATE class 08, 57P01, 57P02, 57P03).
    public var isConnectionFailure: Bool {
        if kind == .connection { return true }
        guard let sqlState else { return false }
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(sqlState)
    }

    public var description: String {
        var text = "PostgreSQL"
        switch kind {
        case .connection: text += " connection error"
        case .server: text += " error"
        case .encoding: text += " parameter error"
        case .statement: text += " statement error"
        case .decoding: text += " result error"
        case .transaction: text += " transaction error"
        case .poolClosed: text += " pool closed"
        case .migration: text += " migration error"
        case .unsupported: text += " unsupported"
        }
        if let sqlState { text += " \(sqlState)" }
        if let failedConnectionAttempts {
            text += ": no connection to PostgreSQL (\(failedConnectionAttempts) attempt"
                + "\(failedConnectionAttempts == 1 ? "" : "s") in a row failed; trying again in the background)"
        }
        text += ": \(message)"
        if let detail, !detail.isEmpty { text += " (\(detail))" }
        if let hint, !hint.isEmpty { text += " Hint: \(hint)" }
        return text
    }
}
