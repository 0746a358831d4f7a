import Foundation
import SluiceBackoff
import SluiceMetrics
import Synchronization

/// The machinery behind `PostgresPool`: FIFO queues of jobs and one worker thread per
/// connection. Async callers enqueue a job and suspend on a continuation; a worker takes the
/// oldest job, runs it with its connection (blocking only its own thread) and resumes the caller.
///
/// Background jobs (``JobPriority/background``: the change feed's reads, as many as there are
/// watchers at every commit) wait in a queue of their own. A worker takes one when no other job
/// waits, or once it has waited ``backgroundPatience`` (so that watchers still hear of changes
/// while uploads keep the pool busy), and at most ``backgroundLimit`` run at once, so that the
/// rest of the pool always serves the calls that write: a thousand idle watchers, woken by each
/// commit, once made every principal's commits wait behind a thousand reads.
///
/// Every mutable field is guarded by `condition`. A job's continuation is resumed exactly once,
/// by whoever takes it out of `queue`: a worker (after running it), cancellation, shutdown, or
/// a failed connection attempt that leaves no worker able to serve (see `ConnectionOutage`).
// Safe because every mutable field is read and written only while holding `condition`.
final class PoolScheduler: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [PoolJob] = []
    private var backgroundQueue: [PoolJob] = []
    /// Background jobs running now.
    private var runningBackground = 0
    /// The most background jobs that run at once: half the workers, at least one.
    let backgroundLimit: Int
    /// How long a background job waits behind other jobs at most, while fewer than
    /// ``backgroundLimit`` run.
    static let backgroundPatience = Duration.milliseconds(250)
    private var stopping = false
    private var liveWorkers: Int
    private var stopWaiters: [CheckedContinuation<Void, Never>] = []
    /// Set from a failed connection attempt until one succeeds.
    private var outage: ConnectionOutage?
    /// Workers holding a connection (as of the end of their last job or attempt).
    private var connectedWorkers = 0
    private let reconnectBackoff: Backoff

    init(size: Int, reconnectBackoff: Backoff, connect: @escaping @Sendable () throws -> PostgresConnection) {
        liveWorkers = size
        backgroundLimit = max(1, size / 2)
        self.reconnectBackoff = reconnectBackoff
        for index in 0..<size {
            let thread = Thread { [self] in
                let worker = PoolWorker(connect: connect)
                self.serve(worker)
            }
            thread.name = "sluice-postgres-\(index)"
            thread.start()
        }
    }

    /// Queues `operation` for the next free worker and waits for its outcome.
    func submit<T: Sendable>(
        _ priority: JobPriority = .normal, _ operation: @escaping @Sendable (PoolWorker) throws -> T
    ) async throws -> T {
        let job = TypedJob(priority, operation)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                condition.lock()
                job.continuation = continuation
                if stopping {
                    condition.unlock()
                    continuation.resume(throwing: PostgresError(.poolClosed, "the PostgresPool is closed"))
                } else if job.cancelled {
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                } else if let outage, connectedWorkers == 0 {
                    condition.unlock()
                    continuation.resume(throwing: outage.refusal)
                } else {
                    job.queued = true
                    job.queuedAt = .now
                    if priority == .background { backgroundQueue.append(job) } else { queue.append(job) }
                    // In an outage the worker woken might be one without a connection, which
                    // takes no job: wake them all so that a connected one takes it.
                    if outage == nil { condition.signal() } else { condition.broadcast() }
                    condition.unlock()
                }
            }
        } onCancel: {
            condition.lock()
            job.cancelled = true
            var removed = false
            if job.queued {
                if let index = queue.firstIndex(where: { $0 === job }) {
                    queue.remove(at: index)
                } else if let index = backgroundQueue.firstIndex(where: { $0 === job }) {
                    backgroundQueue.remove(at: index)
                }
                job.queued = false
                removed = true
            }
            let running = job.worker
            condition.unlock()
            if removed { job.fail(CancellationError()) }
            // A running job's statement is cancelled: a caller that gave up (its deadline
            // passed, its client went away) must not hold a connection while a statement
            // waits, e.g. for a lock another session holds.
            running?.cancel(job)
        }
    }

    /// Fails every waiting job and tells the workers to finish. Idempotent.
    func shutdown() {
        condition.lock()
        if stopping {
            condition.unlock()
            return
        }
        stopping = true
        let pending = takeAllQueued()
        condition.broadcast()
        condition.unlock()
        for job in pending { job.fail(PostgresError(.poolClosed, "the PostgresPool was closed")) }
    }

    /// Returns once every worker has closed its connection and ended.
    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if liveWorkers == 0 {
                condition.unlock()
                continuation.resume()
            } else {
                stopWaiters.append(continuation)
                condition.unlock()
            }
        }
    }

    /// A worker thread's life: take the oldest job, run it, repeat until shutdown. In an
    /// outage, a worker without a connection takes no job; it makes the next connection
    /// attempt when it is due (one worker at a time).
    private func serve(_ worker: PoolWorker) {
        var counted = false  // whether `connectedWorkers` counts this worker
        condition.lock()
        while !stopping {
            if !worker.hasConnection, let current = outage {
                guard current.attemptDue else {
                    if current.attempting {
                        condition.wait()
                    } else {
                        _ = condition.wait(until: Date(timeIntervalSinceNow: (current.retryAt - .now) / .seconds(1)))
                    }
                    continue
                }
                outage?.attempting = true
                condition.unlock()
                let outcome = worker.reconnect()
                condition.lock()
                let refused = settle(outcome, of: worker, counted: &counted, attempt: true)
                refuse(refused)
                continue
            }
            guard let job = nextJob() else {
                condition.wait()
                continue
            }
            job.queued = false
            job.worker = worker
            worker.begin(job)
            let waited = ContinuousClock.now - job.queuedAt
            condition.unlock()
            SluiceMetrics.databaseConnectionTaken(waited: waited)
            job.run(on: worker)
            condition.lock()
            job.worker = nil
            if job.priority == .background {
                runningBackground -= 1
                // Another waiting background job may run now.
                if !backgroundQueue.isEmpty { condition.signal() }
            }
            condition.unlock()
            worker.end()
            worker.afterUse()
            SluiceMetrics.databaseConnectionReturned()
            condition.lock()
            let refused = settle(worker.takeConnectOutcome(), of: worker, counted: &counted, attempt: false)
            refuse(refused)
        }
        if counted { connectedWorkers -= 1 }
        condition.unlock()
        worker.disconnect()
        condition.lock()
        liveWorkers -= 1
        let waiters = liveWorkers == 0 ? stopWaiters : []
        if liveWorkers == 0 { stopWaiters.removeAll() }
        condition.unlock()
        for waiter in waiters { waiter.resume() }
    }

    /// Under the lock, after a job or an outage's connection `attempt` of `worker`: the outage
    /// begins, goes on or ends with `outcome` (nil: the job did not connect), and the count of
    /// connected workers follows the worker. Returns the queued jobs to fail when no worker can
    /// serve them.
    private func settle(
        _ outcome: Result<Void, PostgresError>?, of worker: PoolWorker, counted: inout Bool, attempt: Bool
    ) -> [PoolJob] {
        if worker.hasConnection != counted {
            connectedWorkers += counted ? -1 : 1
            counted.toggle()
        }
        switch outcome {
        case nil:
            return []
        case .success:
            if outage != nil {
                outage = nil
                condition.broadcast()  // workers without a connection may take jobs again
            }
            return []
        case .failure(let error):
            if outage == nil {
                outage = ConnectionOutage(error, backoff: reconnectBackoff)
            } else if attempt {
                outage!.attemptFailed(error, backoff: reconnectBackoff)
            } else {
                outage!.alsoFailed(error)
            }
            condition.broadcast()
            guard connectedWorkers == 0 else { return [] }
            return takeAllQueued()
        }
    }

    /// Under the lock: the oldest job a worker may take now, out of its queue. Another job
    /// before a background one unless that one has waited ``backgroundPatience``, and a
    /// background one only while fewer than ``backgroundLimit`` run.
    private func nextJob() -> PoolJob? {
        let backgroundMayRun = runningBackground < backgroundLimit && !backgroundQueue.isEmpty
        let backgroundIsDue = backgroundMayRun
            && (queue.isEmpty || ContinuousClock.now - backgroundQueue[0].queuedAt >= Self.backgroundPatience)
        if backgroundIsDue {
            runningBackground += 1
            return backgroundQueue.removeFirst()
        }
        return queue.isEmpty ? nil : queue.removeFirst()
    }

    /// Under the lock: every queued job, out of the queues, to fail.
    private func takeAllQueued() -> [PoolJob] {
        let jobs = queue + backgroundQueue
        queue.removeAll()
        backgroundQueue.removeAll()
        for job in jobs { job.queued = false }
        return jobs
    }

    /// Fails `jobs` with the outage's error; called under the lock, which it lets go meanwhile
    /// (a caller's continuation is never resumed under it).
    private func refuse(_ jobs: [PoolJob]) {
        guard !jobs.isEmpty, let refusal = outage?.refusal else { return }
        condition.unlock()
        for job in jobs { job.fail(refusal) }
        condition.lock()
    }
}

/// Which of the pool's queues a call waits in (see ``PoolScheduler``).
public enum JobPriority: Sendable {
    /// The calls of requests, served in the order they came.
    case normal
    /// Work that many callers repeat at once and that may wait (the change feed's reads):
    /// served after the rest (for at most ``PoolScheduler/backgroundPatience``), on at most half
    /// the connections.
    case background
}

/// A queued call. `queued`, `cancelled`, `worker` and `queuedAt` are guarded by the scheduler's
/// condition.
// Safe because `queued`, `cancelled`, `worker` and `queuedAt` change only under the scheduler's condition lock.
class PoolJob: @unchecked Sendable {
    var queued = false
    /// Whether the caller gave up; set by its cancellation handler, at once. Atomic so that the
    /// worker running the job reads it before a COMMIT without waiting for the statement's
    /// cancel request, which is delivered later on another thread (``PoolWorker/cancel(_:)``):
    /// a caller told its call failed must never see the change land.
    private let gaveUp = Atomic<Bool>(false)
    var cancelled: Bool {
        get { gaveUp.load(ordering: .acquiring) }
        set { gaveUp.store(newValue, ordering: .releasing) }
    }
    /// The worker running the job, from the moment it is taken from the queue until it is done.
    var worker: PoolWorker?
    /// When the job joined the queue, for the pool's wait-time metric.
    var queuedAt = ContinuousClock.now
    /// Which queue the job waits in.
    let priority: JobPriority

    init(priority: JobPriority) {
        self.priority = priority
    }

    func run(on worker: PoolWorker) { fatalError("abstract") }
    func fail(_ error: any Error) { fatalError("abstract") }
}

// Safe because `continuation` is set under the scheduler's lock before queueing and taken by exactly one party.
private final class TypedJob<T: Sendable>: PoolJob, @unchecked Sendable {
    let operation: @Sendable (PoolWorker) throws -> T
    /// Set under the scheduler's lock before the job is queued.
    var continuation: CheckedContinuation<T, any Error>?

    init(_ priority: JobPriority, _ operation: @escaping @Sendable (PoolWorker) throws -> T) {
        self.operation = operation
        super.init(priority: priority)
    }

    override func run(on worker: PoolWorker) {
        let result = Result { try operation(worker) }
        continuation!.resume(with: result)
    }

    override func fail(_ error: any Error) {
        continuation!.resume(throwing: error)
    }
}

/// A worker thread's connection, and what the pool does with it. Lives on that thread, except
/// for ``cancel(_:)``, which other threads call: what it reads is guarded by `cancellation`.
// Safe because only `cancel(_:)` is called from other threads, and it touches only the state
// guarded by `cancellation`.
final class PoolWorker: @unchecked Sendable {
    private let connect: () throws -> PostgresConnection
    private var connection: PostgresConnection?
    /// How the last attempt to connect went, until the scheduler takes it.
    private var connectOutcome: Result<Void, PostgresError>?
    private let cancellation = NSLock()
    /// The job being run, whether its caller gave up, and the handle that cancels the
    /// statement it runs (set once it has its connection); guarded by `cancellation`.
    private var serving: PoolJob?
    private var cancelRequested = false
    private var canceller: PostgresCanceller?

    init(connect: @escaping () throws -> PostgresConnection) {
        self.connect = connect
    }

    /// The worker's connection: opened on first use, reset when it is broken — as libpq knows
    /// it, or as the server told it meanwhile (`checkAlive`), so a connection the server ended
    /// while it sat in the pool is replaced before a statement is lost on it.
    ///
    /// Throws `CancellationError` when the job's caller gave up before it got here.
    func checkout() throws -> PostgresConnection {
        let connection = try healthyConnection()
        let cancelled = cancellation.withLock {
            canceller = connection.makeCanceller()
            return cancelRequested
        }
        if cancelled { throw CancellationError() }
        return connection
    }

    private func healthyConnection() throws -> PostgresConnection {
        if let connection {
            if connection.checkAlive() { return connection }
            do {
                try connection.reset()
                connectOutcome = .success(())
                return connection
            } catch {
                self.connection = nil
                throw connectFailed(error)
            }
        }
        do {
            let fresh = try connect()
            connection = fresh
            connectOutcome = .success(())
            return fresh
        } catch {
            throw connectFailed(error)
        }
    }

    /// Notes a failed attempt to connect (or reconnect), for the scheduler.
    private func connectFailed(_ error: any Error) -> PostgresError {
        let failure = error as? PostgresError ?? PostgresError(.connection, "could not connect to PostgreSQL: \(error)")
        connectOutcome = .failure(failure)
        return failure
    }

    /// Whether the worker holds a connection (not necessarily a live one).
    var hasConnection: Bool { connection != nil }

    /// How the last attempt to connect during a job went, if the job made one; cleared.
    func takeConnectOutcome() -> Result<Void, PostgresError>? {
        defer { connectOutcome = nil }
        return connectOutcome
    }

    /// Connects outside any job: the attempt an outage makes on its backoff.
    func reconnect() -> Result<Void, PostgresError> {
        defer { connectOutcome = nil }
        return Result { _ = try healthyConnection() }.mapError { $0 as? PostgresError ?? connectFailed($0) }
    }

    /// Whether the caller of the job being run gave up on it (``cancel(_:)``).
    private var callerGaveUp: Bool {
        cancellation.withLock { cancelRequested || serving?.cancelled == true }
    }

    /// Called by the scheduler, under its lock, as the worker takes `job`.
    func begin(_ job: PoolJob) {
        cancellation.withLock {
            serving = job
            cancelRequested = job.cancelled
            canceller = nil
        }
    }

    /// Called when the job is done: a cancellation asked for later finds nothing to cancel.
    func end() {
        cancellation.withLock {
            serving = nil
            cancelRequested = false
            canceller = nil
        }
    }

    /// Cancels the statement `job` runs, if the worker still runs it; a job that has no
    /// connection yet fails at ``checkout()``. Returns at once: the request connects to the
    /// server, which must not happen on the caller's thread (an event loop resetting a stream
    /// cancels its call there). The closure holds `job`, so no later job can be mistaken for it.
    func cancel(_ job: PoolJob) {
        DispatchQueue.global(qos: .utility).async { [self] in
            cancellation.withLock {
                guard serving === job else { return }
                cancelRequested = true
                canceller?.cancel()
            }
        }
    }

    /// After each job: roll back a transaction the body left open; forget a connection in an
    /// unknown state (the next checkout connects afresh).
    func afterUse() {
        guard let connection, connection.isHealthy else { return }
        _ = connection.discardUnsent()
        switch connection.transactionStatus {
        case .idle:
            break
        case .inTransaction, .failedTransaction:
            if (try? connection.execute("ROLLBACK")) == nil { self.connection = nil }
        case .active, .unknown:
            self.connection = nil
        }
    }

    func disconnect() {
        connection = nil
    }

    /// Ends a transaction that must not commit: drops what waits to be sent and rolls back
    /// what was sent (nothing to roll back when even the BEGIN was still unsent).
    private func abandon(_ connection: PostgresConnection) {
        if !connection.discardUnsent(), connection.isHealthy, connection.transactionStatus != .idle {
            _ = try? connection.execute("ROLLBACK")
        }
    }

    /// BEGIN, body, COMMIT on this worker's connection; see `PostgresPool.transaction`.
    func runTransaction<T>(
        isolation: PostgresPool.IsolationLevel, _ body: (PostgresConnection) throws -> T
    ) throws -> T {
        let connection = try checkout()
        // BEGIN travels with the body's first statement. A connection found broken then fails
        // the body with a connection failure before COMMIT, which `PostgresPool.transaction`
        // answers by running the whole transaction again on a fresh connection.
        connection.begin("BEGIN ISOLATION LEVEL \(isolation.sql)")

        let value: T
        do {
            value = try body(connection)
        } catch {
            abandon(connection)
            throw error
        }
        if connection.hasUnsentBegin, !connection.hasStatementsForCommit {  // the body ran no statement
            _ = connection.discardUnsent()
            return value
        }

        switch connection.transactionStatus {
        case .inTransaction:
            // A caller that gave up (its deadline passed, its client went away) while the body
            // ran is answered with an error: its change must not land after that answer.
            if callerGaveUp {
                abandon(connection)
                throw CancellationError()
            }
            let commit: PostgresResult
            do {
                commit = try connection.commit()
            } catch var error as PostgresError where error.isConnectionFailure {
                error.commitOutcomeUnknown = true
                throw error
            } catch {
                // A statement sent with the COMMIT failed: the transaction is aborted.
                if connection.isHealthy, connection.transactionStatus != .idle { _ = try? connection.execute("ROLLBACK") }
                throw error
            }
            if commit.commandTag == "ROLLBACK" {
                throw PostgresError(.transaction, "COMMIT rolled the transaction back")
            }
        case .failedTransaction:
            _ = try? connection.execute("ROLLBACK")
            throw PostgresError(
                .transaction,
                "the transaction was aborted by a statement error that the body caught; it was rolled back, "
                    + "nothing was committed")
        case .idle:
            break  // the body committed or rolled back itself
        case .active, .unknown:
            throw PostgresError(.connection, "the connection broke before COMMIT; nothing was committed")
        }
        return value
    }
}
