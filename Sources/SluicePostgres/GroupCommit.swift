import Synchronization

/// Runs small transactions that arrive together as one PostgreSQL transaction, so that they
/// share its commit — one write-ahead-log flush — and its round trips, without any of them
/// waiting for company: a transaction that arrives while none is running starts at once;
/// those that arrive meanwhile queue and go together in the next one (at most `maxBatch`),
/// led by the first of them. Each caller gets its own result or error only once the shared
/// transaction has committed, so "answered" still means "durable".
///
/// An item whose caller gave up before the item ran is skipped (it fails with
/// `CancellationError`), and one running alone is not committed then either (as in
/// ``PostgresPool/transaction(isolation:_:)``).
///
/// Every item runs inside a savepoint: one that throws is rolled back alone and fails alone,
/// the others commit. An item that loses a deadlock or serialization conflict inside the batch,
/// every item of a batch that fails as a whole (after the pool's own retries), and an item
/// whose own commit's outcome is unknown runs again in a transaction of its own — so bodies
/// must be safe to run more than once, as for ``PostgresPool/transaction(isolation:_:)``, and
/// after a commit that did happen (a version commit answers the version it made).
///
/// Items of a batch run in ascending `order` keys, so two batches (of two servers on one
/// database) lock rows in the same order. A body that takes a lock every transaction must take
/// last (a global counter) returns it as its ``GroupedWork/epilogue``: epilogues run after
/// every item's body, just before the commit, in the same order.
public final class GroupCommit: Sendable {
    private let pool: PostgresPool
    private let maxBatch: Int
    private let state = Mutex(State())

    /// - Parameters:
    ///   - pool: where the transactions run.
    ///   - maxBatch: the most items in one transaction, at least 1.
    public init(pool: PostgresPool, maxBatch: Int = 64) {
        precondition(maxBatch >= 1, "a GroupCommit batch holds at least one item")
        self.pool = pool
        self.maxBatch = maxBatch
    }

    /// Runs `body` in a transaction shared with whatever else arrives meanwhile, and returns
    /// its value once that transaction has committed.
    public func run<T: Sendable>(
        order: String, _ body: @escaping @Sendable (PostgresConnection) throws -> GroupedWork<T>
    ) async throws -> T {
        let id = state.withLock { state in
            defer { state.nextID &+= 1 }
            return state.nextID
        }
        let work: @Sendable (PostgresConnection) throws -> GroupedWork<any Sendable> = { connection in
            let done = try body(connection)
            return GroupedWork<any Sendable>(done.value, epilogue: done.epilogue)
        }
        let abandonment = Abandonment()
        let result = await withTaskCancellationHandler {
            let outcome = await withCheckedContinuation { (continuation: CheckedContinuation<Outcome, Never>) in
                let entry = Entry(id: id, order: order, work: work, abandonment: abandonment, continuation: continuation)
                let leadsNow = state.withLock { state in
                    state.queue.append(entry)
                    if state.leaderActive { return false }
                    state.leaderActive = true
                    return true
                }
                if leadsNow { continuation.resume(returning: .lead) }
            }
            switch outcome {
            case .finished(let finished): return finished
            case .lead: return await lead(ownID: id)
            }
        } onCancel: {
            abandonment.mark()
        }
        // The value is the one this call's own body produced.
        return try result.get() as! T
    }

    /// Takes the queue's next batch (this call's entry is its first), runs it, hands the lead
    /// to the first entry that queued meanwhile, and answers the others.
    private func lead(ownID: UInt64) async -> Result<any Sendable, any Error> {
        let batch = state.withLock { state in
            let batch = Array(state.queue.prefix(maxBatch))
            state.queue.removeFirst(batch.count)
            return batch
        }
        // In a task of its own: the batch holds other callers' work, which the cancellation of
        // the leader's call (its deadline passed, its client went away) must not cancel.
        let results = await Task { await self.run(batch) }.value
        let next = state.withLock { state -> Entry? in
            if let next = state.queue.first { return next }
            state.leaderActive = false
            return nil
        }
        next?.continuation.resume(returning: .lead)
        var own: Result<any Sendable, any Error> = .failure(GroupCommitError())
        for (entry, result) in zip(batch, results) {
            if entry.id == ownID { own = result } else { entry.continuation.resume(returning: .finished(result)) }
        }
        return own
    }

    private func run(_ batch: [Entry]) async -> [Result<any Sendable, any Error>] {
        guard batch.count > 1 else { return [await alone(batch[0])] }
        let ordered = batch.indices.sorted { (batch[$0].order, $0) < (batch[$1].order, $1) }
        var results = [Result<any Sendable, any Error>?](repeating: nil, count: batch.count)
        do {
            let outcomes = try await pool.transaction { connection -> [ItemOutcome] in
                var outcomes = [ItemOutcome](repeating: .retryAlone, count: batch.count)
                var epilogues: [@Sendable (PostgresConnection) throws -> Void] = []
                for index in ordered {
                    if batch[index].abandonment.isMarked {
                        outcomes[index] = .failure(CancellationError())
                        continue
                    }
                    // Each item's savepoint travels with its first statement, and its release
                    // with the next item's (or the COMMIT): no round trip of their own.
                    connection.sendWithNextStatement("SAVEPOINT grouped_item")
                    do {
                        let done = try batch[index].work(connection)
                        connection.sendWithNextStatement("RELEASE SAVEPOINT grouped_item")
                        outcomes[index] = .value(done.value)
                        if let epilogue = done.epilogue { epilogues.append(epilogue) }
                    } catch let error as PostgresError where error.isConnectionFailure {
                        throw error
                    } catch {
                        _ = try connection.execute("ROLLBACK TO SAVEPOINT grouped_item")
                        let conflict = (error as? PostgresError)?.isSerializationFailure ?? false
                        outcomes[index] = conflict ? .retryAlone : .failure(error)
                    }
                }
                for epilogue in epilogues { try epilogue(connection) }
                return outcomes
            }
            for (index, outcome) in outcomes.enumerated() {
                switch outcome {
                case .value(let value): results[index] = .success(value)
                case .failure(let error): results[index] = .failure(error)
                case .retryAlone: break
                }
            }
        } catch {
            // The batch failed as a whole: every item runs alone and meets its own fate.
        }
        for index in batch.indices where results[index] == nil {
            results[index] = await alone(batch[index])
        }
        return results.map { $0! }
    }

    /// Runs one item in a transaction of its own. When the connection broke during its COMMIT
    /// (whether it committed is unknown), it runs once more: a body safe to run twice answers
    /// from what the first run committed, if it did, and the caller learns the outcome.
    private func alone(_ entry: Entry) async -> Result<any Sendable, any Error> {
        var ranAgain = false
        while true {
            if entry.abandonment.isMarked { return .failure(CancellationError()) }
            do {
                return .success(try await pool.transaction { connection -> SendableBox in
                    let done = try entry.work(connection)
                    try done.epilogue?(connection)
                    return SendableBox(done.value)
                }.value)
            } catch let error as PostgresError where error.commitOutcomeUnknown && !ranAgain {
                ranAgain = true
            } catch {
                return .failure(error)
            }
        }
    }

    private struct Entry: Sendable {
        var id: UInt64
        var order: String
        var work: @Sendable (PostgresConnection) throws -> GroupedWork<any Sendable>
        var abandonment: Abandonment
        var continuation: CheckedContinuation<Outcome, Never>
    }

    /// Marked when an item's caller gives up (its deadline passed, its client went away): a
    /// batch that has not run the item yet skips it, so its change cannot land after its caller
    /// was answered with an error. An item already run commits with its batch.
    private final class Abandonment: Sendable {
        private let marked = Atomic<Bool>(false)
        var isMarked: Bool { marked.load(ordering: .acquiring) }
        func mark() { marked.store(true, ordering: .releasing) }
    }

    private enum Outcome: Sendable {
        case lead
        case finished(Result<any Sendable, any Error>)
    }

    private enum ItemOutcome: Sendable {
        case value(any Sendable)
        case failure(any Error)
        case retryAlone
    }

    private struct SendableBox: Sendable {
        var value: any Sendable
        init(_ value: any Sendable) { self.value = value }
    }

    private struct State: Sendable {
        var queue: [Entry] = []
        /// Whether some call is leading a batch now; while one is, new entries only queue.
        var leaderActive = false
        var nextID: UInt64 = 0
    }
}

/// What a ``GroupCommit`` item returns: its value, and statements to run at the very end of
/// the shared transaction.
public struct GroupedWork<Value: Sendable>: Sendable {
    public var value: Value
    public var epilogue: (@Sendable (PostgresConnection) throws -> Void)?

    public init(_ value: Value, epilogue: (@Sendable (PostgresConnection) throws -> Void)? = nil) {
        self.value = value
        self.epilogue = epilogue
    }
}

/// A leader's own entry was missing from its batch: a bug in ``GroupCommit``.
struct GroupCommitError: Error, CustomStringConvertible {
    var description: String { "a grouped transaction lost its own result" }
}
