import Foundation
import SluiceStore
import Testing

/// Granting the access a grantee already has changes nothing, so a retried GrantAccess leaves
/// no trace: no second change in either principal's feed, and the same update time.
@Suite(.timeLimit(.minutes(5))) struct GrantRepeatTests {
    @Test func anUnchangedGrantIsANoOpAndAChangedOneIsRecorded() async throws {
        try await StorageHarness.with { harness in
            let grants = harness.storage.grants
            let alice = try await harness.principal("CN=alice")
            let bob = try await harness.principal("CN=bob")
            func grantAddedCount(for principal: Principal) async throws -> Int {
                try await harness.storage.changes.read(
                    after: ChangeCursor(position: 0), for: principal, owner: "", prefix: "", limit: 100
                ).changes.filter { $0.kind == .grantAdded }.count
            }

            let first = try await grants.grant(by: alice, to: bob.handle, scope: .prefix, path: "docs/", access: .read)
            try await Task.sleep(for: .milliseconds(20))
            let again = try await grants.grant(by: alice, to: bob.handle, scope: .prefix, path: "docs/", access: .read)
            #expect(again == first)
            #expect(try await grants.made(by: alice, to: nil, pageSize: 10, pageToken: "").grants == [first])
            #expect(try await grantAddedCount(for: alice) == 1)
            #expect(try await grantAddedCount(for: bob) == 1)

            let raised = try await grants.grant(by: alice, to: bob.handle, scope: .prefix, path: "docs/", access: .write)
            #expect(raised.access == .write && raised.updatedAt > first.updatedAt)
            #expect(try await grantAddedCount(for: alice) == 2)
            #expect(try await grantAddedCount(for: bob) == 2)
        }
    }
}
