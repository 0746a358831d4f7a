import Foundation
import SluiceStore
import Testing

/// CreateSession's request id, and the early expiry of sessions that stored nothing.
@Suite(.timeLimit(.minutes(5))) struct SessionRequestIDTests {
    @Test func theSameRequestIDAnswersTheSameSession() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            let bytes = sampleBytes(100, seed: 1)
            var declared = declaration("rid", bytes, partitionSize: 50)
            declared.requestID = "req-1"
            let first = try await sessions.create(declared, by: alice)
            let again = try await sessions.create(declared, by: alice)
            #expect(again.id == first.id)
            #expect(try await sessions.create(declared, by: bob).id != first.id)

            var renamed = declared
            renamed.objectName = "rid2"
            await expectStorageError(.invalidArgument, mentioning: ["request_id 'req-1'"]) {
                try await sessions.create(renamed, by: alice)
            }
            // Canonically equivalent metadata keys are different declarations.
            var composed = declared, decomposed = declared
            composed.requestID = "req-2"
            decomposed.requestID = "req-2"
            composed.userMetadata = ["\u{e9}": "v"]
            decomposed.userMetadata = ["e\u{301}": "v"]
            _ = try await sessions.create(composed, by: alice)
            await expectStorageError(.invalidArgument) { try await sessions.create(decomposed, by: alice) }

            var bad = declared
            bad.requestID = String(repeating: "x", count: SessionDeclaration.maxRequestIDBytes + 1)
            await expectStorageError(.invalidArgument, mentioning: ["request_id"]) { try await sessions.create(bad, by: alice) }
        }
    }

    @Test func sessionsThatStoreNothingExpireAfterTheEmptySessionLifetime() async throws {
        var limits = StorageLimits()
        limits.emptySessionLifetime = .zero
        try await StorageHarness.with(limits: limits) { harness in
            let sessions = harness.storage.sessions
            let alice = try await harness.principal("CN=alice")
            let bytes = sampleBytes(100, seed: 2)
            let empty = try await sessions.create(declaration("empty", bytes, partitionSize: 50), by: alice)
            let busy = try await sessions.create(declaration("busy", bytes, partitionSize: 50), by: alice)
            _ = try await sessions.storePartition(
                0, of: busy.id, by: alice, chunks: ChunkSequence(Array(bytes.prefix(50))))
            try await Task.sleep(for: .milliseconds(20))
            let report = try await harness.storage.collector.collect()
            #expect(report.expiredEmptySessions == 1)
            try await Task.sleep(for: .milliseconds(20))
            #expect(try await sessions.get(empty.id, of: alice).state == .expired)
            #expect(try await sessions.get(busy.id, of: alice).state == .open)
        }
    }
}
