import SluiceStore
import Testing

/// Handles as the directory assigns them: unique under concurrency (several directories, as
/// several sluiced instances would have), stable, filled for old principals, and registrations.
@Suite(.timeLimit(.minutes(5))) struct PrincipalHandleAssignmentTests {
    @Test func concurrentFirstCallsWithTheSameNameGetDistinctHandles() async throws {
        try await StorageHarness.with(poolSize: 8) { harness in
            // A directory per identity: none shares a cache, as with several instances.
            let identities = (0..<12).map { "CN=Same Name;DNS=host\($0).example" }
            let handles = try await withThrowingTaskGroup(of: String.self) { group in
                for identity in identities {
                    group.addTask {
                        try await PrincipalDirectory(database: harness.pool).principal(named: identity).handle
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(Set(handles) == Set(["same-name"] + (2...12).map { "same-name-\($0)" }))
            for identity in identities {
                let again = try await PrincipalDirectory(database: harness.pool).principal(named: identity)
                #expect(handles.contains(again.handle))
            }
        }
    }

    @Test func aPrincipalWithoutAHandleGetsOneOnItsNextCallAndKeepsIt() async throws {
        try await StorageHarness.with { harness in
            try await harness.sql("INSERT INTO principals (name) VALUES ('CN=old-timer')")
            let first = try await PrincipalDirectory(database: harness.pool).principal(named: "CN=old-timer")
            #expect(first.handle == "old-timer")
            let second = try await PrincipalDirectory(database: harness.pool).principal(named: "CN=old-timer")
            #expect(second == first)
        }
    }

    @Test func registrationIsIdempotentAndRefusesConflicts() async throws {
        try await StorageHarness.with { harness in
            let principals = harness.storage.principals
            let carol = try await principals.register(handle: "carol", identity: "CN=carol-laptop")
            #expect(try await principals.register(handle: "carol", identity: "CN=carol-laptop") == carol)
            await expectStorageError(.failedPrecondition, mentioning: ["already belongs"]) {
                _ = try await principals.register(handle: "carol", identity: "CN=someone-else")
            }
            await expectStorageError(.failedPrecondition, mentioning: ["already has handle 'carol'"]) {
                _ = try await principals.register(handle: "caroline", identity: "CN=carol-laptop")
            }
            await expectStorageError(.invalidArgument, mentioning: ["handle"]) {
                _ = try await principals.register(handle: "Carol", identity: "CN=x")
            }
            // Her first call finds the registered handle; a newcomer suggesting "carol" gets a suffix.
            #expect(try await harness.principal("CN=carol-laptop").handle == "carol")
            #expect(try await harness.principal("CN=carol").handle == "carol-2")
            #expect(try await principals.principal(handle: "carol")?.name == "CN=carol-laptop")
            #expect(try await principals.principal(handle: "nobody") == nil)
        }
    }
}
