import SluiceRPC
import SluiceStore

/// Who a call runs as: resolved once per call by `StorageCallInterceptor` from the verified
/// client certificate, and read from the call's context by the limits and by the handler.
public struct Caller: Sendable {
    /// The principal name `--principal-from` makes of the certificate (what `--admin` names).
    public let name: String
    public let principal: Principal
    /// Limit overrides and the disabled flag (as fresh as `PrincipalPolicies` keeps them).
    public let settings: PrincipalSettings

    public init(name: String, principal: Principal, settings: PrincipalSettings) {
        self.name = name
        self.principal = principal
        self.settings = settings
    }

    /// The owner a request addresses: the caller for an empty handle, else the principal
    /// holding the handle, or ``Principal/unknown(handle:)`` when none does, so that an unknown owner
    /// answers exactly like a known one who shares nothing with the caller.
    func owner(_ handle: String, in storage: Storage) async throws -> Principal {
        guard !handle.isEmpty, handle != principal.handle else { return principal }
        return try await storage.principals.principal(handle: handle) ?? .unknown(handle: handle)
    }
}

/// How the interceptor left the caller of a call in its context: resolved, or refused with
/// the UNAUTHENTICATED a handler throws when it asks (so a handler that validates its request
/// first keeps doing so, and the admin service can answer in its own words).
enum CallerResolution: ServerContextKey {
    typealias Value = Result<Caller, RPCError>
}

extension ServerContext {
    /// The caller of this call; UNAUTHENTICATED, saying why, when the connection has no client
    /// certificate or the certificate names no principal.
    public var caller: Caller {
        get throws {
            guard let resolution = self[CallerResolution.self] else {
                // Only a server wired without StorageCallInterceptor gets here: a bug, not the client's doing.
                throw ConcealedError(
                    .internal, "internal error", cause: NoCallerResolved(service: method.service))
            }
            return try resolution.get()
        }
    }
}

/// A storage handler ran without `StorageCallInterceptor` in front of it.
struct NoCallerResolved: Error, CustomStringConvertible {
    let service: String
    var description: String { "no caller was resolved for a call of \(service): StorageCallInterceptor is not installed" }
}
