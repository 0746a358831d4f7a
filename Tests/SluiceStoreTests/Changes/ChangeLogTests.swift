import Foundation
import SluicePostgres
import SluiceStore
import Synchronization
import Testing

/// The change log alone: what `ChangeLog.record` writes, who `ChangeFeed` shows it to, the
/// cursor's text form, and the wake-up signal.
@Suite(.timeLimit(.minutes(5))) struct ChangeLogTests {
    @Test func grantChangesAreVisibleToTheOwnerAndTheGranteeOnly() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            let carol = try await harness.principal("CN=carol")
            let grant = ChangeGrant(ownerID: alice.id, granteeID: bob.id, scope: "prefix", path: "docs/", access: "write")
            try await harness.pool.transaction { connection in
                ChangeLog.record(.grantAdded(grant, actorID: alice.id), on: connection)
                ChangeLog.record(.grantRevoked(grant, actorID: alice.id), on: connection)
            }
            let feed = harness.storage.changes
            for principal in [alice, bob] {
                let page = try await feed.read(after: ChangeCursor(position: 0), for: principal, owner: "", prefix: "", limit: 10)
                #expect(page.changes.map(\.kind) == [.grantAdded, .grantRevoked])
                #expect(page.changes.map(\.cursor) == [ChangeCursor(position: 1), ChangeCursor(position: 2)])
                #expect(page.changes.allSatisfy { $0.name == "docs/" && $0.grantScope == "prefix" && $0.grantAccess == "write" })
                #expect(page.caughtUp)
            }
            let others = try await feed.read(after: ChangeCursor(position: 0), for: carol, owner: "", prefix: "", limit: 10)
            #expect(others.changes.isEmpty && others.through == ChangeCursor(position: 2))
            // A watch narrowed to a folder inside the grant still hears about the grant.
            let narrowed = try await feed.read(after: ChangeCursor(position: 0), for: bob, owner: "", prefix: "docs/a/", limit: 10)
            #expect(narrowed.changes.count == 2)
        }
    }

    /// The 41/42 trap: while a transaction holding the next position has not committed, a
    /// later one cannot commit a higher position, so no reader ever passes a position that
    /// may still appear below it. The first commit is held after its change took the position
    /// (the change travels with the COMMIT): a deferred trigger makes it wait for a lock that
    /// a transaction of the test holds.
    @Test func aLaterCommitCannotOvertakeAnUncommittedPosition() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            try await harness.holdCommits(inserting: "changes", when: "NEW.name = 'first'", on: 4142)
            let lock = await HeldAdvisoryLock.take(4142, in: harness)
            let first = Task {
                try await harness.pool.transaction { connection in
                    ChangeLog.record(.objectDeleted(ownerID: alice.id, name: "first", actorID: alice.id), on: connection)
                }
            }
            try await harness.waitUntilAdvisoryLockIsAwaited(4142)  // the first commit waits, its position taken
            let second = Task {
                try await harness.pool.transaction { connection in
                    ChangeLog.record(.objectDeleted(ownerID: alice.id, name: "second", actorID: alice.id), on: connection)
                }
            }
            try await Task.sleep(for: .milliseconds(300))     // the second is queued on the counter row
            let meanwhile = try await harness.storage.changes.read(
                after: ChangeCursor(position: 0), for: alice, owner: "", prefix: "", limit: 10)
            #expect(meanwhile.changes.isEmpty && meanwhile.head == ChangeCursor(position: 0))
            try await lock.release()
            try await first.value
            try await second.value
            let after = try await harness.storage.changes.read(
                after: ChangeCursor(position: 0), for: alice, owner: "", prefix: "", limit: 10)
            #expect(after.changes.map(\.name) == ["first", "second"])
            #expect(after.changes.map(\.cursor) == [ChangeCursor(position: 1), ChangeCursor(position: 2)])
        }
    }

    @Test func aRolledBackChangeLeavesNoEventAndNoGap() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await harness.pool.transaction { connection in
                    _ = try connection.execute("SELECT 1")
                    ChangeLog.record(.objectDeleted(ownerID: alice.id, name: "x", actorID: alice.id), on: connection)
                    throw Refused()
                }
            }
            try await harness.pool.transaction { connection in
                ChangeLog.record(.objectDeleted(ownerID: alice.id, name: "y", actorID: alice.id), on: connection)
            }
            let page = try await harness.storage.changes.read(
                after: ChangeCursor(position: 0), for: alice, owner: "", prefix: "", limit: 10)
            #expect(page.changes.map(\.name) == ["y"])
            #expect(page.changes.map(\.cursor) == [ChangeCursor(position: 1)])
        }
    }

    /// Without the counter's row a change has no position: the commit fails and takes the
    /// transaction's other work with it, rather than committing without its change.
    @Test func aChangeWithoutAPositionFailsItsCommit() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            func handle() async throws -> String {
                try await harness.pool.withConnection { connection in
                    try connection.execute("SELECT handle FROM principals WHERE id = $1", [.int(alice.id)])
                        .rows[0].string("handle")
                }
            }
            let before = try await handle()
            try await harness.pool.withConnection { connection in
                _ = try connection.execute("DELETE FROM change_log_state")
            }
            await #expect(throws: PostgresError.self) {
                try await harness.pool.transaction { connection in
                    _ = try connection.execute("UPDATE principals SET handle = 'renamed' WHERE id = $1", [.int(alice.id)])
                    ChangeLog.record(.objectDeleted(ownerID: alice.id, name: "x", actorID: alice.id), on: connection)
                }
            }
            #expect(try await handle() == before)
        }
    }

    @Test func cursorsParseStrictly() throws {
        #expect(try ChangeCursor(parsing: "c1.0").position == 0)
        #expect(try ChangeCursor(parsing: "c1.42").position == 42)
        #expect(ChangeCursor(position: 7).description == "c1.7")
        for bad in ["", "c1.", "c1.-1", "c1.01", "c1.+1", "C1.1", "c1.1 ", "c1.99999999999999999999", "c1.1a"] {
            #expect(throws: StorageError.self) { try ChangeCursor(parsing: bad) }
        }
    }

    @Test func aWakeUpBetweenReadAndWaitIsNotLost() async {
        let signal = ChangeSignal()
        let seen = signal.generation
        signal.wake()
        await signal.wait(after: seen, group: 1)      // returns at once: the generation moved on
        let waiter = Task { await signal.wait(after: signal.generation, group: 1) }
        while signal.waiting == 0 { await Task.yield() }
        signal.wake()
        #expect(await waiter.value == true)
        #expect(signal.waiting == 0)
    }

    /// A nudge makes waiters return without a new generation (false: nothing to read), a
    /// wake-up with one (true).
    @Test func aNudgeReturnsWaitersWithoutANewGeneration() async {
        let signal = ChangeSignal()
        let seen = signal.generation
        let nudged = Task { await signal.wait(after: seen, group: 1) }
        while signal.waiting == 0 { await Task.yield() }
        signal.nudge()
        #expect(await nudged.value == false)
        #expect(signal.generation == seen)
        let woken = Task { await signal.wait(after: seen, group: 1) }
        while signal.waiting == 0 { await Task.yield() }
        signal.wake()
        #expect(await woken.value == true)
    }

    /// A nudge wakes one waiter of each group (it does the group's periodic work for all of
    /// them), a nudge of a group all of that group's, and a wake-up everyone.
    @Test func aNudgeWakesOneWaiterPerGroup() async {
        let signal = ChangeSignal()
        let seen = signal.generation
        let nudged = NudgeCount()
        func waiters(_ count: Int, of group: Int64) -> [Task<Void, Never>] {
            (0..<count).map { _ in
                Task { if await !signal.wait(after: seen, group: group) { nudged.add(group) } }
            }
        }
        func settle(waiting: Int, nudged expected: [Int64: Int]) async {
            while signal.waiting != waiting || nudged.value != expected { await Task.yield() }
        }
        let all = waiters(5, of: 1) + waiters(3, of: 2)
        await settle(waiting: 8, nudged: [:])
        signal.nudge()
        await settle(waiting: 6, nudged: [1: 1, 2: 1])
        signal.nudge(group: 2)
        await settle(waiting: 4, nudged: [1: 1, 2: 3])
        signal.wake()
        for task in all { await task.value }
        #expect(signal.waiting == 0 && nudged.value == [1: 1, 2: 3])
    }
}

/// How many waiters of each group returned from a nudge.
private final class NudgeCount: Sendable {
    private let counts = Mutex<[Int64: Int]>([:])

    var value: [Int64: Int] { counts.withLock { $0 } }

    func add(_ group: Int64) {
        counts.withLock { $0[group, default: 0] += 1 }
    }
}

/// Holds a transaction open while it holds a lock (blocking its pool thread, never the test's).
