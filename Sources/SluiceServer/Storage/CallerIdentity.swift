import SluiceRPC
import SluiceStore

/// The principal a storage call runs as: the verified client certificate's subject.
enum CallerIdentity {
    static func principal(of context: ServerContext, in storage: Storage) async throws -> Principal {
        guard let peer = context.peer else {
            throw RPCError(
                .unauthenticated,
                "storage calls need a client certificate: connect with mutual TLS (--cert and --key)")
        }
        return try await storage.principals.principal(named: peer.subject)
    }
}
