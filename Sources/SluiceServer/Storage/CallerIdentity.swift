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
}
