import SluiceStore

/// Finds the principal, and its settings, that a principal name stands for (recording the
/// principal on first sight). `PrincipalPolicies` is the server's, with its short-lived cache.
public protocol CallerDirectory: Sendable {
    func caller(named name: String) async throws -> Caller
}

extension PrincipalPolicies: CallerDirectory {
    public func caller(named name: String) async throws -> Caller {
        let policy = try await policy(named: name)
        return Caller(name: name, principal: policy.principal, settings: policy.settings)
    }
}
