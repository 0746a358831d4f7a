import SluiceRPC
import SluiceStore

/// The principal a storage call runs as: the verified client certificate's names, as the
/// server's `PrincipalMapping` (`--principal-from`) counts them.
public struct CallerIdentity: Sendable {
    public let mapping: PrincipalMapping

    public init(mapping: PrincipalMapping = .subjectAndSANs) {
        self.mapping = mapping
    }

    func principal(of context: ServerContext, in storage: Storage) async throws -> Principal {
        guard let peer = context.peer else {
            throw RPCError(
                .unauthenticated,
                "storage calls need a client certificate: connect with mutual TLS (--cert and --key)")
        }
        let name: String
        do {
            name = try mapping.principalName(of: peer)
        } catch {
            throw RPCError(.unauthenticated, error.description)
        }
        return try await storage.principals.principal(named: name)
    }

    /// The owner a request addresses: the caller for an empty handle, else the principal
    /// holding the handle, or ``Principal/unknown(handle:)`` when none does, so that an unknown owner
    /// answers exactly like a known one who shares nothing with the caller.
    func owner(_ handle: String, caller: Principal, in storage: Storage) async throws -> Principal {
        guard !handle.isEmpty, handle != caller.handle else { return caller }
        return try await storage.principals.principal(handle: handle) ?? .unknown(handle: handle)
    }
}
