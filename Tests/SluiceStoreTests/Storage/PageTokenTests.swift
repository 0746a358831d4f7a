import Foundation
import SluiceStore
import Testing

/// Page tokens: only the listing, caller and parameters they were issued for take them.
@Suite(.timeLimit(.minutes(5))) struct PageTokenTests {
    @Test func tokensAreBoundToPrincipalAndParameters() async throws {
        try await StorageHarness.with { harness in
            let sessions = harness.storage.sessions
            let objects = harness.storage.objects
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            for index in 0..<3 {
                let bytes = sampleBytes(10, seed: UInt64(index))
                let session = try await sessions.create(declaration("p/\(index)", bytes, partitionSize: 10), by: alice)
                _ = try await sessions.storePartition(0, of: session.id, by: alice, chunks: ChunkSequence(bytes))
                _ = try await sessions.commit(session.id, by: alice, objects: objects)
            }
            let first = try await objects.list(prefix: "p/", delimiter: "", principal: alice, pageSize: 1, pageToken: "")
            #expect(!first.nextPageToken.isEmpty)
            let second = try await objects.list(
                prefix: "p/", delimiter: "", principal: alice, pageSize: 1, pageToken: first.nextPageToken)
            #expect(second.objects.map(\.name) == ["p/1"])

            let forged = Data("op/1".utf8).base64EncodedString()
            for (who, prefix, delimiter, token) in [
                (bob, "p/", "", first.nextPageToken), (alice, "p", "", first.nextPageToken),
                (alice, "p/", "/", first.nextPageToken), (alice, "p/", "", forged),
                (alice, "p/", "", String(first.nextPageToken.dropLast(2))),
            ] {
                await expectStorageError(.invalidArgument, mentioning: ["page_token"]) {
                    try await objects.list(prefix: prefix, delimiter: delimiter, principal: who, pageSize: 1, pageToken: token)
                }
            }
            let sessionPage = try await sessions.list(of: alice, pageSize: 1, pageToken: "", openOnly: false)
            await expectStorageError(.invalidArgument) {
                try await objects.versions(of: "p/0", principal: alice, pageSize: 1, pageToken: sessionPage.nextPageToken)
            }
            // Another Storage with another key refuses them; one with the same key takes them.
            let key = [UInt8](repeating: 7, count: 32)
            let one = Storage(database: harness.pool, blobs: harness.blobs, limits: harness.limits, pageTokens: PageTokens(key: key))
            let two = Storage(database: harness.pool, blobs: harness.blobs, limits: harness.limits, pageTokens: PageTokens(key: key))
            let page = try await one.objects.list(prefix: "p/", delimiter: "", principal: alice, pageSize: 1, pageToken: "")
            #expect(try await two.objects.list(
                prefix: "p/", delimiter: "", principal: alice, pageSize: 1, pageToken: page.nextPageToken
            ).objects.map(\.name) == ["p/1"])
            await expectStorageError(.invalidArgument) {
                try await objects.list(prefix: "p/", delimiter: "", principal: alice, pageSize: 1, pageToken: page.nextPageToken)
            }
        }
    }

    @Test func theSharedKeyIsMadeOnceAndKept() async throws {
        try await StorageHarness.with { harness in
            _ = try await PageTokens.shared(in: harness.pool)
            _ = try await PageTokens.shared(in: harness.pool)
            let rows = try await harness.sql("SELECT length(value) AS n FROM settings WHERE name = 'page_token_key'").rows
            #expect(rows.count == 1)
            #expect(try rows.first?.int("n") == 32)
        }
    }
}
