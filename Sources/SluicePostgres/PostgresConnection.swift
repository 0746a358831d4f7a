import CLibPQ
import SluiceDuration

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libpq connection. Every call blocks the calling thread until the server answers, so use
/// a connection only off Swift's cooperative pool and off event loops: `PostgresPool` runs its
/// connections on threads of its own and is what the rest of Sluice should use.
///
/// Not `Sendable`: one thread at a time. (The pool passes each connection to one worker thread.)
///
/// Every session is set up the same way, so results parse the same way everywhere:
/// `client_encoding = UTF8`, `DateStyle = ISO, YMD`, `TimeZone = UTC`, `bytea_output = hex`,
/// `IntervalStyle = postgres`. Do not change these in a session that others will reuse.
///
/// This file is the only place in Sluice that touches libpq's C API and raw pointers.
public final class PostgresConnection {
    /// What libpq knows about the transaction of this session (PQtransactionStatus).
    public enum TransactionStatus: Sendable, Hashable {
        /// Not in a transaction block.
        case idle
        /// A command is in progress.
        case active
        /// Inside a transaction block (after BEGIN).
        case inTransaction
        /// Inside a transaction block that an error aborted: only ROLLBACK helps.
        case failedTransaction
        /// The connection is broken.
        case unknown
    }

    /// The PGconn; never nil while the object lives.
    private let handle: OpaquePointer

    /// The statements prepared on this session (by SQL text and parameter types) and their
    /// names. Parsing and planning a short statement is most of what it costs the server, so
    /// each is prepared once per session rather than parsed on every call.
    private var prepared: [PreparedKey: String] = [:]
    /// The number in the next prepared statement's name. Names are never used twice in a
    /// session: a preparation that failed, was skipped or was cancelled may or may not exist on
    /// the server, and a name reused for another statement would bind the wrong one.
    private var nextPreparedNumber = 0
    /// The most statements one session keeps prepared; beyond that, statements run unprepared
    /// (SQL built at run time must not make a session's memory grow without end).
    static let maxPreparedStatements = 512

    /// A BEGIN not sent yet (see ``begin(_:)``).
    private var deferredBegin: String?
    /// Statements to send ahead of the next one, after ``deferredBegin`` (see
    /// ``sendWithNextStatement(_:)``).
    private var deferredStatements: [String] = []

    /// Statements to send in the round trip of the transaction's COMMIT, before it (see
    /// ``sendWithCommit(_:)``).
    private var commitStatements: [PostgresStatement] = []

    /// What goes ahead of the next statement, in order.
    private var deferred: [String] { (deferredBegin.map { [$0] } ?? []) + deferredStatements }

    fileprivate struct PreparedKey: Hashable {
        var sql: String
        var types: [Oid]
    }

    private static let sessionSetup = """
        SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; \
        SET bytea_output = 'hex'; SET IntervalStyle = 'postgres'
        """

    /// Connects (blocking) to the server `url` names.
    ///
    /// - Parameters:
    ///   - url: a libpq connection string, as a URI (`postgresql://user@host:5432/db?sslmode=...`,
    ///     `postgresql:///db?host=/path/to/socket`) or as `key=value` pairs; an empty string uses
    ///     libpq's defaults and the PG* environment variables.
    ///   - overrides: connection keywords that replace what `url` says, e.g.
    ///     `["dbname": "other", "application_name": "sluiced", "connect_timeout": "5"]`.
    /// - Throws: `PostgresError` of kind `.connection` with libpq's explanation.
    public init(url: String, overrides: [String: String] = [:]) throws {
        let keys = overrides.keys.sorted()
        // The first "dbname" is expanded as a connection string (expand_dbname = 1); later
        // keywords override what it set.
        let keywords = ["dbname"] + keys
        let values = [url] + keys.map { overrides[$0]! }
        for text in keywords + values where text.utf8.contains(0) {
            throw PostgresError(.connection, "connection settings cannot contain NUL characters")
        }
        let connection = CStringArray(keywords).withPointers { keywordPointers in
            CStringArray(values).withPointers { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(.connection, "could not allocate a connection (out of memory)")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection)) ?? "connection failed"
            PQfinish(connection)
            throw PostgresError(.connection, "could not connect to PostgreSQL: \(message)")
        }
        handle = connection
        // libpq prints NOTICEs ("relation ... already exists, skipping") to stderr by default.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
        try executeScript(Self.sessionSetup)
    }

    deinit {
        PQfinish(handle)
    }

    /// The settings a connection string sets, keyword by keyword (PQconninfoParse), without
    /// connecting. Throws `.connection` with libpq's explanation when the string is malformed.
    public static func settings(of url: String) throws -> [String: String] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(url, &errorMessage) else {
            defer { if let errorMessage { PQfreemem(errorMessage) } }
            let message = trimmed(errorMessage) ?? "out of memory"
            throw PostgresError(.connection, "invalid connection string: \(message)")
        }
        defer { PQconninfoFree(options) }
        var settings = [String: String]()
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                settings[String(cString: keyword)] = String(cString: value)
            }
            option += 1
        }
        return settings
    }

    // MARK: state

    /// Whether the connection is usable as far as libpq knows (PQstatus is CONNECTION_OK). A
    /// connection whose server went away looks healthy until the next statement fails.
    public var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Whether the connection is still usable, learned without a round trip: reads whatever the
    /// server has sent meanwhile (PQconsumeInput, which never blocks), so a session the server
    /// ended (pg_terminate_backend, a restart: it sends an error and closes) shows as broken
    /// before a statement is sent on it, when reconnecting is still safe.
    /// A connection a failed pipeline left in pipeline mode is not usable either.
    public func checkAlive() -> Bool {
        guard PQpipelineStatus(handle) == PQ_PIPELINE_OFF else { return false }
        guard isHealthy, transactionStatus == .idle else { return isHealthy }
        // The first read may take the server's closing error message, the second finds the end
        // of the stream behind it; on a live idle session both find nothing and return at once.
        for _ in 0..<2 where PQconsumeInput(handle) != 1 || !isHealthy {
            return false
        }
        return isHealthy
    }

    /// The transaction state of the session.
    public var transactionStatus: TransactionStatus {
        if deferredBegin != nil, PQtransactionStatus(handle) == PQTRANS_IDLE { return .inTransaction }
        return switch PQtransactionStatus(handle) {
        case PQTRANS_IDLE: .idle
        case PQTRANS_ACTIVE: .active
        case PQTRANS_INTRANS: .inTransaction
        case PQTRANS_INERROR: .failedTransaction
        default: .unknown
        }
    }

    /// A handle that cancels the statement this session runs, from another thread; nil when
    /// libpq cannot make one (out of memory). Valid for the current server process only: make
    /// a new one after ``reset()``.
    public func makeCanceller() -> PostgresCanceller? {
        PostgresCanceller(handle)
    }

    /// The process id of the server process serving this session (PQbackendPID).
    public var backendPID: Int32 { PQbackendPID(handle) }

    /// The server's version as an integer, e.g. 150018 for 15.18 (PQserverVersion).
    public var serverVersion: Int { Int(PQserverVersion(handle)) }

    /// Closes the connection and opens it again with the same settings (PQreset), then sets the
    /// session up again. Whatever the session held (transaction, temporary tables, locks) is gone.
    public func reset() throws {
        PQreset(handle)
        prepared.removeAll()
        nextPreparedNumber = 0
        deferredBegin = nil
        deferredStatements = []
        commitStatements = []
        guard isHealthy else {
            let message = Self.trimmed(PQerrorMessage(handle)) ?? "reset failed"
            throw PostgresError(.connection, "could not reconnect to PostgreSQL: \(message)")
        }
        try executeScript(Self.sessionSetup)
    }

    // MARK: transactions

    /// Starts a transaction with `sql` (a BEGIN statement), sent with the next statement in one
    /// round trip rather than on its own: it saves a round trip per transaction. From now on
    /// ``transactionStatus`` is ``TransactionStatus/inTransaction``.
    public func begin(_ sql: String) {
        deferredBegin = sql
    }

    /// Whether a BEGIN from ``begin(_:)`` is still unsent: no statement followed it, so the
    /// transaction holds nothing.
    public var hasUnsentBegin: Bool { deferredBegin != nil }

    /// Drops what waits to be sent — a BEGIN ``begin(_:)`` left unsent, statements from
    /// ``sendWithNextStatement(_:)`` and ``sendWithCommit(_:)`` — for a transaction that ends
    /// without them: one that holds nothing, or one about to be rolled back. Returns whether a
    /// BEGIN was among them (then there is nothing to commit or roll back).
    public func discardUnsent() -> Bool {
        defer {
            deferredBegin = nil
            deferredStatements = []
            commitStatements = []
        }
        return deferredBegin != nil
    }

    /// Sends `statement` in the round trip of this transaction's COMMIT, right before it, rather
    /// than on its own: for a statement that must be the transaction's last (it takes a lock
    /// that should be held only through the commit) and whose answer nobody reads. An error it
    /// meets fails the COMMIT, and the transaction is rolled back. The transaction's runner
    /// sends them (``commit()``).
    public func sendWithCommit(_ statement: PostgresStatement) {
        commitStatements.append(statement)
    }

    /// Whether statements from ``sendWithCommit(_:)`` wait for the COMMIT.
    public var hasStatementsForCommit: Bool { !commitStatements.isEmpty }

    /// Commits the transaction: COMMIT, with the statements from ``sendWithCommit(_:)`` ahead of
    /// it in the same round trip. Returns COMMIT's answer (its command tag is `ROLLBACK` when the
    /// transaction had already failed). A statement's error is thrown, and the transaction is
    /// then left failed, for the caller to roll back.
    public func commit() throws -> PostgresResult {
        let statements = commitStatements + [PostgresStatement("COMMIT")]
        commitStatements = []
        return try execute(pipeline: statements).last!
    }

    /// Sends `sql` (a statement whose answer nobody reads, such as SAVEPOINT) with the next
    /// statement, in its round trip, rather than on its own. An error it meets is thrown by
    /// that next statement, whose own work then does not run. COMMIT and ROLLBACK are
    /// statements too; a transaction that holds nothing else, or is rolled back, drops it
    /// (``discardUnsent()``).
    public func sendWithNextStatement(_ sql: String) {
        deferredStatements.append(sql)
    }

    // MARK: statements

    /// Runs one statement with parameters `$1`, `$2`, ... (text format both ways) and returns
    /// its rows. The statement is prepared on first use in this session (PQprepare, then
    /// PQexecPrepared), up to ``maxPreparedStatements``; others run with PQexecParams.
    ///
    /// - Throws: `PostgresError`: `.server` with the SQLSTATE when the server rejects the
    ///   statement, `.connection` when the connection broke, `.encoding` for an unsendable parameter,
    ///   `.statement` for SQL text holding a NUL.
    @discardableResult
    public func execute(_ sql: String, _ params: [PostgresValue] = []) throws -> PostgresResult {
        if !deferred.isEmpty { return try execute(pipeline: [PostgresStatement(sql, params)])[0] }
        let statement = try EncodedStatement(PostgresStatement(sql, params))
        guard let name = try preparedName(statement.key) else {
            let result = statement.texts.withPointers { valuePointers in
                statement.key.types.withUnsafeBufferPointer { typePointers in
                    PQexecParams(
                        handle, sql, Int32(statement.key.types.count), typePointers.baseAddress, valuePointers, nil,
                        nil, 0)
                }
            }
            return try consume(result)
        }
        let result = statement.texts.withPointers { valuePointers in
            PQexecPrepared(handle, name, Int32(statement.key.types.count), valuePointers, nil, nil, 0)
        }
        return try consume(result)
    }

    /// Runs `statement`, as ``execute(_:_:)``.
    @discardableResult
    public func execute(_ statement: PostgresStatement) throws -> PostgresResult {
        try execute(statement.sql, statement.params)
    }

    /// A name no statement of this session has had.
    private func freshPreparedName() -> String {
        defer { nextPreparedNumber += 1 }
        return "sluice_\(nextPreparedNumber)"
    }

    /// The name `key` is prepared under in this session, preparing it now if it is new; nil
    /// once the session holds its most prepared statements.
    private func preparedName(_ key: PreparedKey) throws -> String? {
        if let name = prepared[key] { return name }
        guard prepared.count < Self.maxPreparedStatements else { return nil }
        let name = freshPreparedName()
        let result = key.types.withUnsafeBufferPointer { typePointers in
            PQprepare(handle, name, key.sql, Int32(key.types.count), typePointers.baseAddress)
        }
        _ = try consume(result)
        prepared[key] = name
        return name
    }

    /// Runs `statements` in order, as ``execute(_:_:)`` would one after another, but in one
    /// round trip (libpq's pipeline mode): for statements whose parameters do not depend on
    /// each other's results. Meant for a few short statements — everything is sent before
    /// anything is read.
    ///
    /// A statement the server rejects throws its error, and the statements after it do not run
    /// (inside a transaction, the transaction is aborted, as it would be by ``execute(_:_:)``;
    /// outside one, the pipeline is one implicit transaction, and nothing of it is kept).
    /// Statements that take decisions from results should read them all before throwing an
    /// error of their own: all of them ran.
    ///
    /// - Throws: `PostgresError`, as ``execute(_:_:)``.
    public func execute(pipeline statements: [PostgresStatement]) throws -> [PostgresResult] {
        let ahead = deferred
        if !ahead.isEmpty {
            deferredBegin = nil
            deferredStatements = []
            return Array(try execute(pipeline: ahead.map { PostgresStatement($0) } + statements).dropFirst(ahead.count))
        }
        guard statements.count > 1 else { return try statements.map { try execute($0.sql, $0.params) } }
        let encoded = try statements.map(EncodedStatement.init)
        guard PQenterPipelineMode(handle) == 1 else {
            throw PostgresError(.connection, Self.trimmed(PQerrorMessage(handle)) ?? "pipeline mode refused")
        }
        var newlyPrepared: [PreparedKey: String] = [:]
        var preparing: [(key: PreparedKey, name: String)?] = []
        var sendFailure: PostgresError?
        for statement in encoded {
            let key = statement.key
            var name = prepared[key] ?? newlyPrepared[key]
            var preparation: (key: PreparedKey, name: String)?
            if name == nil, prepared.count + newlyPrepared.count < Self.maxPreparedStatements {
                let fresh = freshPreparedName()
                let queued = key.types.withUnsafeBufferPointer { typePointers in
                    PQsendPrepare(handle, fresh, key.sql, Int32(key.types.count), typePointers.baseAddress)
                }
                guard queued == 1 else { sendFailure = sendError(); break }
                newlyPrepared[key] = fresh
                preparation = (key, fresh)
                name = fresh
            }
            let queued = statement.texts.withPointers { valuePointers in
                if let name {
                    return PQsendQueryPrepared(handle, name, Int32(key.types.count), valuePointers, nil, nil, 0)
                }
                return key.types.withUnsafeBufferPointer { typePointers in
                    PQsendQueryParams(
                        handle, key.sql, Int32(key.types.count), typePointers.baseAddress, valuePointers, nil, nil, 0)
                }
            }
            guard queued == 1 else { sendFailure = sendError(); break }
            preparing.append(preparation)
        }
        if let sendFailure {
            // A send fails only when the connection is unusable; it is reset before reuse.
            throw sendFailure
        }
        guard PQpipelineSync(handle) == 1 else { throw sendError() }

        var results: [PostgresResult] = []
        var firstError: PostgresError?
        for preparation in preparing {
            if let preparation {
                switch nextPipelineResult() {
                case .success(_?):
                    prepared[preparation.key] = preparation.name
                case .success(nil):
                    break  // skipped after an earlier error: not prepared
                case .failure(let error):
                    firstError = firstError ?? error
                }
            }
            switch nextPipelineResult() {
            case .success(let result?): results.append(result)
            case .success(nil): break
            case .failure(let error): firstError = firstError ?? error
            }
        }
        let synced = PQgetResult(handle)
        let syncStatus = synced.map(PQresultStatus)
        PQclear(synced)
        guard syncStatus == PGRES_PIPELINE_SYNC, PQexitPipelineMode(handle) == 1 else {
            // A pipeline that does not end at its sync lost its connection, whatever a statement
            // answered before: what was sent may or may not have taken effect.
            throw PostgresError(
                .connection, Self.trimmed(PQerrorMessage(handle)) ?? "the pipeline did not end where it should")
        }
        if let firstError { throw firstError }
        return results
    }

    /// The next command's result in a pipeline, and the NULL that ends it: the rows, nil for
    /// a command skipped after an earlier error, or the error.
    private func nextPipelineResult() -> Result<PostgresResult?, PostgresError> {
        guard let result = PQgetResult(handle) else {
            return .failure(PostgresError(
                .connection, Self.trimmed(PQerrorMessage(handle)) ?? "a pipeline result is missing"))
        }
        // Each command's results end with a NULL; PQclear(NULL) does nothing.
        defer { PQclear(PQgetResult(handle)) }
        if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
            PQclear(result)
            return .success(nil)
        }
        do {
            return .success(try consume(result))
        } catch let error as PostgresError {
            return .failure(error)
        } catch {
            return .failure(PostgresError(.server, "\(error)"))
        }
    }

    private func sendError() -> PostgresError {
        PostgresError(.connection, Self.trimmed(PQerrorMessage(handle)) ?? "the pipeline could not be sent")
    }

    /// Runs SQL text that may hold several statements separated by semicolons, without parameters
    /// (PQexec, the simple query protocol), e.g. a migration. Returns the last statement's result.
    /// Unless the text has its own BEGIN/COMMIT, the statements run as one implicit transaction.
    @discardableResult
    public func executeScript(_ sql: String) throws -> PostgresResult {
        guard !sql.utf8.contains(0) else {
            throw PostgresError(.statement, "SQL text cannot contain NUL characters")
        }
        let ahead = deferred
        deferredBegin = nil
        deferredStatements = []
        for statement in ahead { _ = try consume(PQexec(handle, statement)) }
        return try consume(PQexec(handle, sql))
    }

    // MARK: notifications

    /// Waits up to `timeout` for NOTIFY messages on channels this session LISTENs to and returns
    /// their payloads (possibly none), without sending anything: a socket wait (poll), then
    /// PQconsumeInput and PQnotifies. Notifications already received come back at once.
    ///
    /// - Throws: `.connection` when the connection broke (the server ended the session).
    public func waitForNotifications(timeout: Duration) throws -> [String] {
        var payloads = takeNotifications()
        guard payloads.isEmpty else { return payloads }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        guard descriptor.fd >= 0 else { throw PostgresError(.connection, "the connection has no socket") }
        let milliseconds = Int32(clamping: timeout.inMillisecondsRoundedUp)
        let ready = poll(&descriptor, 1, milliseconds)
        if ready < 0 && errno != EINTR {
            throw PostgresError(.connection, "waiting for notifications failed: errno \(errno)")
        }
        if ready > 0 {
            guard PQconsumeInput(handle) == 1, isHealthy else {
                let message = Self.trimmed(PQerrorMessage(handle)) ?? "the connection was closed"
                throw PostgresError(.connection, "lost the connection while listening: \(message)")
            }
            payloads = takeNotifications()
        }
        return payloads
    }

    /// The notifications libpq has already read, in the order they arrived.
    private func takeNotifications() -> [String] {
        var payloads = [String]()
        while let notification = PQnotifies(handle) {
            payloads.append(notification.pointee.extra.map { String(cString: $0) } ?? "")
            PQfreemem(notification)
        }
        return payloads
    }

    // MARK: results

    /// Copies a PGresult into Swift values and frees it, or turns it into an error.
    private func consume(_ result: OpaquePointer?) throws -> PostgresResult {
        guard let result else {
            // No result at all: the connection is gone (or libpq is out of memory: the
            // connection is made again either way).
            let message = Self.trimmed(PQerrorMessage(handle)) ?? "no result from libpq"
            throw PostgresError(.connection, message)
        }
        defer { PQclear(result) }

        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            break
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            throw error(from: result)
        default:
            let status = String(cString: PQresStatus(PQresultStatus(result)))
            throw PostgresError(.unsupported, "libpq result status \(status) is not supported (COPY, pipelines)")
        }

        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        var columns = [PostgresColumn]()
        columns.reserveCapacity(columnCount)
        for c in 0..<columnCount {
            let name = PQfname(result, Int32(c)).map { String(cString: $0) } ?? ""
            columns.append(PostgresColumn(name: name, typeOID: UInt32(PQftype(result, Int32(c)))))
        }
        var cells = [[String?]]()
        cells.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var row = [String?]()
            row.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) != 0 {
                    row.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(r), Int32(c)))
                    let value = PQgetvalue(result, Int32(r), Int32(c))!
                    row.append(value.withMemoryRebound(to: UInt8.self, capacity: length) {
                        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
                    })
                }
            }
            cells.append(row)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        let tag = String(cString: PQcmdStatus(result))
        return PostgresResult(columns: columns, cells: cells, affectedRows: affected, commandTag: tag)
    }

    /// A PostgresError from an error result: SQLSTATE, message, detail, hint, constraint.
    private func error(from result: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            Self.trimmed(PQresultErrorField(result, Int32(code.asciiValue!)))
        }
        let sqlState = field("C")  // PG_DIAG_SQLSTATE
        let message = field("M") ?? Self.trimmed(PQresultErrorMessage(result)) ?? Self.trimmed(PQerrorMessage(handle))
            ?? "unknown error"
        // Errors libpq makes up itself have no SQLSTATE: a lost connection — also one whose
        // server said why it ended it ("terminating connection due to administrator command")
        // before libpq noticed the socket close, which a pipeline can meet while the status still
        // reads healthy.
        let kind: PostgresError.Kind = isHealthy && sqlState != nil ? .server : .connection
        return PostgresError(
            kind, message, sqlState: sqlState, detail: field("D"), hint: field("H"), constraint: field("n"))
    }

    private static func trimmed(_ text: UnsafePointer<CChar>?) -> String? {
        guard let text else { return nil }
        var string = String(cString: text)
        while let last = string.last, last.isWhitespace { string.removeLast() }
        return string.isEmpty ? nil : string
    }
}

@available(*, unavailable, message: "a PostgresConnection is used by one thread at a time; share a PostgresPool")
extension PostgresConnection: Sendable {}

/// A statement and its parameters encoded for libpq: the key it is prepared under and the
/// parameters' text.
private struct EncodedStatement {
    let key: PostgresConnection.PreparedKey
    let texts: CStringArray

    init(_ statement: PostgresStatement) throws {
        guard !statement.sql.utf8.contains(0) else {
            throw PostgresError(.statement, "SQL text cannot contain NUL characters")
        }
        let encoded = try statement.params.map { try $0.encoded() }
        key = PostgresConnection.PreparedKey(sql: statement.sql, types: encoded.map { Oid($0.type) })
        texts = CStringArray(encoded.map(\.text))
    }
}

/// NUL-terminated copies of Swift strings in a NULL-terminated array, as libpq's
/// `const char * const *` parameters want them; nil entries stay NULL (SQL NULL parameters).
private struct CStringArray {
    let strings: [String?]

    init(_ strings: [String?]) { self.strings = strings }
    init(_ strings: [String]) { self.strings = strings }

    func withPointers<R>(_ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0)! } }
        defer { for copy in copies { free(copy) } }
        let pointers = copies.map { $0.map { UnsafePointer($0) } } + [nil]
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }
}
