import Foundation
import SluicePostgres
import SluiceStore
import Testing

/// Client text and numbers that PostgreSQL cannot take (a NUL in text, a cursor whose window
/// overflows bigint) are refused at the store's boundary with a status and a message a person
/// can act on, never passed on to fail as a database error.
@Suite(.timeLimit(.minutes(5))) struct ClientInputBoundaryTests {
    static let nul = "bo\u{0}b"

    @Test func handlesOfGrantsAreCheckedBeforeAnyQuery() async throws {
        try await StorageHarness.with { harness in
            let grants = harness.storage.grants
            let alice = try await harness.principal("CN=alice")
            _ = try await harness.principal("CN=bob")
            for bad in [Self.nul, "Bob", "bob/x", String(repeating: "b", count: 65)] {
                await expectStorageError(.invalidArgument, mentioning: ["grantee", "not a principal's handle"]) {
                    try await grants.grant(by: alice, to: bad, scope: .object, path: "a", access: .read)
                }
                await expectStorageError(.invalidArgument, mentioning: ["grantee", "not a principal's handle"]) {
                    try await grants.revoke(by: alice, from: bad, scope: .object, path: "a")
                }
                await expectStorageError(.invalidArgument, mentioning: ["grantee"]) {
                    try await grants.made(by: alice, to: bad, pageSize: 0, pageToken: "")
                }
                await expectStorageError(.invalidArgument, mentioning: ["owner"]) {
                    try await grants.received(by: alice, from: bad, pageSize: 0, pageToken: "")
                }
            }
            // The NUL is shown escaped, not sent raw.
            let error = await expectStorageError(.invalidArgument) {
                try await grants.grant(by: alice, to: Self.nul, scope: .object, path: "a", access: .read)
            }
            #expect(error?.message.contains("'bo\\0b'") == true)
            // A well-formed handle nobody holds is still NOT_FOUND, and listing by it finds nothing.
            await expectStorageError(.notFound, mentioning: ["no principal has handle 'nobody'"]) {
                try await grants.grant(by: alice, to: "nobody", scope: .object, path: "a", access: .read)
            }
            #expect(try await grants.made(by: alice, to: "nobody", pageSize: 0, pageToken: "").grants.isEmpty)
            #expect(try await grants.grant(by: alice, to: "bob", scope: .object, path: "a", access: .read).grantee == "bob")
        }
    }

    @Test func handlesAndIdentitiesOfAdministrationAreChecked() async throws {
        try await StorageHarness.with { harness in
            let administration = harness.storage.administration
            _ = try await harness.principal("CN=alice")
            for bad in [Self.nul, "Alice", ""] {
                await expectStorageError(.invalidArgument, mentioning: ["handle"]) {
                    try await administration.record(handle: bad)
                }
                await expectStorageError(.invalidArgument, mentioning: ["handle"]) {
                    try await administration.setLimits(handle: bad, set: [(.quotaBytes, 5)], clear: [])
                }
                await expectStorageError(.invalidArgument, mentioning: ["handle"]) {
                    try await administration.setDisabled(handle: bad, true)
                }
                await expectStorageError(.invalidArgument, mentioning: ["handle"]) {
                    try await harness.storage.principals.register(handle: bad, identity: "CN=x")
                }
            }
            await expectStorageError(.notFound, mentioning: ["no principal has handle 'nobody'"]) {
                try await administration.setDisabled(handle: "nobody", true)
            }
            await expectStorageError(.invalidArgument, mentioning: ["identity", "NUL"]) {
                try await harness.storage.principals.register(handle: "carol", identity: "CN=car\u{0}ol")
            }
            #expect(try await harness.storage.principals.principal(handle: "carol") == nil)
        }
    }

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

    @Test func setLimitsTakesTheRangesTheServersFlagsTake() async throws {
        try await StorageHarness.with { harness in
            let administration = harness.storage.administration
            _ = try await harness.principal("CN=alice")
            for (kind, value) in [(LimitKind.quotaSessions, 1_000_001), (.requestsPerSecond, Int64.max)] {
                await expectStorageError(.invalidArgument, mentioning: ["\(kind.rawValue) must be at most \(kind.largest)", "\(value)"]) {
                    try await administration.setLimits(handle: "alice", set: [(kind, value)], clear: [])
                }
            }
            #expect(try await administration.record(handle: "alice").settings.overrides.isEmpty)
            let updated = try await administration.setLimits(
                handle: "alice", set: [(.quotaSessions, 1_000_000), (.bytesInPerSecond, 1 << 60)], clear: [])
            #expect(updated.settings.overrides == [.quotaSessions: 1_000_000, .bytesInPerSecond: 1 << 60])
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

    @Test func aCursorNearInt64MaxIsAheadOfTheLogNotAnOverflow() async throws {
        try await StorageHarness.with { harness in
            let alice = try await harness.principal("CN=alice")
            for position in [Int64.max, Int64.max - 1, Int64.max - ChangeFeed.scanWindow, 1_000_000] {
                let cursor = try ChangeCursor(parsing: "c1.\(position)")
                await expectStorageError(.outOfRange, mentioning: ["ahead of this server's change log"]) {
                    try await harness.storage.changes.read(after: cursor, for: alice, owner: "", prefix: "", limit: 10)
                }
            }
            let page = try await harness.storage.changes.read(
                after: ChangeCursor(position: 0), for: alice, owner: "", prefix: "", limit: 10)
            #expect(page.caughtUp && page.changes.isEmpty)
        }
    }
}
