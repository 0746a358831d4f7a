import Foundation
import SluicePostgres
import SluiceStore
import Testing

/// Client input is refused at the store's boundary with a status and a message a person can
/// act on, never passed on to fail as a database error.
@Suite struct ClientInputBoundaryTests {
    @Test func setLimitsRefusesALimitNamedTwice() async throws {
        try await StorageHarness.with { harness in
            let administration = harness.storage.administration
            _ = try await harness.principal("CN=alice")
            await expectStorageError(.invalidArgument, mentioning: ["quota_bytes is set twice"]) {
                try await administration.setLimits(handle: "alice", set: [(.quotaBytes, 5), (.quotaBytes, 6)], clear: [])
            }
            await expectStorageError(.invalidArgument, mentioning: ["quota_objects is cleared twice"]) {
                try await administration.setLimits(handle: "alice", set: [], clear: [.quotaObjects, .quotaObjects])
            }
            await expectStorageError(.invalidArgument, mentioning: ["quota_bytes is both set and cleared"]) {
                try await administration.setLimits(handle: "alice", set: [(.quotaBytes, 5)], clear: [.quotaBytes])
            }
            // Nothing of the refused requests was applied.
            #expect(try await administration.record(handle: "alice").settings.overrides.isEmpty)
            let updated = try await administration.setLimits(
                handle: "alice", set: [(.quotaBytes, 5), (.quotaObjects, 0)], clear: [.quotaSessions])
            #expect(updated.settings.overrides == [.quotaBytes: 5, .quotaObjects: 0])
        }
    }

    @Test func listPrincipalsPagesWithAuthenticatedTokensOnly() async throws {
        try await StorageHarness.with { harness in
            let administration = harness.storage.administration
            let admin = try await harness.principal("CN=admin")
            let other = try await harness.principal("CN=other")
            for name in ["CN=bob", "CN=carol"] { _ = try await harness.principal(name) }
            var handles: [String] = []
            var token = ""
            repeat {
                let page = try await administration.list(pageSize: 1, pageToken: token, for: admin)
                handles += page.page.map(\.principal.handle)
                token = page.nextPageToken
                if !token.isEmpty {
                    // A token is the listing's own: not a handle, and no good to another caller.
                    #expect(token != page.page.last?.principal.handle)
                    await expectStorageError(.invalidArgument, mentioning: ["page_token"]) {
                        try await administration.list(pageSize: 1, pageToken: token, for: other)
                    }
                }
            } while !token.isEmpty
            #expect(handles == ["admin", "bob", "carol", "other"])
            for forged in ["zz", String(repeating: "x", count: 5000), String(repeating: "A", count: 100), "\u{0}", "bob"] {
                await expectStorageError(.invalidArgument, mentioning: ["page_token"]) {
                    try await administration.list(pageSize: 0, pageToken: forged, for: admin)
                }
            }
        }
    }
}
