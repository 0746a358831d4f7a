import Foundation
import SluicePostgres
import SluiceStore
import Testing

/// The change log alone: what `ChangeLog.record` writes, who `ChangeFeed` shows it to, the
/// cursor's text form, and the wake-up signal.
@Suite struct ChangeLogTests {
    @Test func grantChangesAreVisibleToTheOwnerAndTheGranteeOnly() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            let carol = try await harness.principal("CN=carol")
            let grant = ChangeGrant(ownerID: alice.id, granteeID: bob.id, scope: "prefix", path: "docs/", access: "write")
            let positions = try await harness.pool.transaction { connection in
                [
                    try ChangeLog.record(.grantAdded(grant, actorID: alice.id), on: connection),
                    try ChangeLog.record(.grantRevoked(grant, actorID: alice.id), on: connection),
                ]
            }
            #expect(positions == [1, 2])
            let feed = harness.storage.changes
            for principal in [alice, bob] {
                let page = try await feed.read(after: ChangeCursor(position: 0), for: principal, owner: "", prefix: "", limit: 10)
                #expect(page.changes.map(\.kind) == [.grantAdded, .grantRevoked])
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
    /// may still appear below it.
    @Test func aLaterCommitCannotOvertakeAnUncommittedPosition() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            let gate = CommitGate()
            let first = Task {
                try await harness.pool.transaction { connection in
                    let position = try ChangeLog.record(
                        .objectDeleted(ownerID: alice.id, name: "first", actorID: alice.id), on: connection)
                    gate.recorded.signal()
                    gate.release.wait()
                    return position
                }
            }
            await gate.waitRecorded()
            let second = Task {
                try await harness.pool.transaction { connection in
                    try ChangeLog.record(.objectDeleted(ownerID: alice.id, name: "second", actorID: alice.id), on: connection)
                }
            }
            try await Task.sleep(for: .milliseconds(300))     // the second is queued on the counter row
            let meanwhile = try await harness.storage.changes.read(
                after: ChangeCursor(position: 0), for: alice, owner: "", prefix: "", limit: 10)
            #expect(meanwhile.changes.isEmpty && meanwhile.head == ChangeCursor(position: 0))
            gate.release.signal()
            #expect(try await first.value == 1)
            #expect(try await second.value == 2)
            let after = try await harness.storage.changes.read(
                after: ChangeCursor(position: 0), for: alice, owner: "", prefix: "", limit: 10)
            #expect(after.changes.map(\.name) == ["first", "second"])
        }
    }

    @Test func aRolledBackChangeLeavesNoEventAndNoGap() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            struct Refused: Error {}
            await #expect(throws: Refused.self) {
                try await harness.pool.transaction { connection in
                    try ChangeLog.record(.objectDeleted(ownerID: alice.id, name: "x", actorID: alice.id), on: connection)
                    throw Refused()
                }
            }
            let position = try await harness.pool.transaction { connection in
                try ChangeLog.record(.objectDeleted(ownerID: alice.id, name: "y", actorID: alice.id), on: connection)
            }
            #expect(position == 1)
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
        await signal.wait(after: seen)      // returns at once: the generation moved on
        let waiter = Task { await signal.wait(after: signal.generation) }
        while signal.waiting == 0 { await Task.yield() }
        signal.wake()
        await waiter.value
        #expect(signal.waiting == 0)
    }
}

/// Holds a transaction open between its record and its commit (blocking its pool thread,
/// never the test's).
private final class CommitGate: Sendable {
    let recorded = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)

    func waitRecorded() async {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.recorded.wait()
                continuation.resume()
            }
        }
    }
}
