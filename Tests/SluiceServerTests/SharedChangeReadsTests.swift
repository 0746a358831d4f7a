import Synchronization
import Testing

@testable import SluiceServer
@testable import SluiceStore

/// Watchers woken by the same commit at the same cursor read the log once; a watcher woken
/// later, or looking at something else, reads for itself.
@Suite struct SharedChangeReadsTests {
    private final class Reads: Sendable {
        let count = Mutex(0)
    }

    private static func key(generation: UInt64, prefix: String = "docs/") -> SharedChangeReads.Key {
        SharedChangeReads.Key(
            principalID: 7, owner: "", prefix: prefix, cursor: ChangeCursor(position: 41), limit: 100,
            generation: generation)
    }

    private static let page = ChangePage(changes: [], through: ChangeCursor(position: 42), head: ChangeCursor(position: 42))

    @Test func watchersWokenTogetherShareOneRead() async throws {
        let shared = SharedChangeReads()
        let reads = Reads()
        let read: @Sendable () async throws -> ChangePage = {
            reads.count.withLock { $0 += 1 }
            try await Task.sleep(for: .milliseconds(200))      // in flight while the others ask
            return Self.page
        }
        let pages = try await withThrowingTaskGroup(of: ChangePage.self) { group in
            for _ in 0..<50 { group.addTask { try await shared.page(for: Self.key(generation: 3), read) } }
            return try await group.reduce(into: [ChangePage]()) { $0.append($1) }
        }
        #expect(pages.count == 50 && pages.allSatisfy { $0.through == ChangeCursor(position: 42) })
        #expect(reads.count.withLock { $0 } == 1)
        // Woken again, or looking at another prefix: a read of its own.
        _ = try await shared.page(for: Self.key(generation: 4), read)
        _ = try await shared.page(for: Self.key(generation: 4, prefix: "other/"), read)
        #expect(reads.count.withLock { $0 } == 3)
    }
}
