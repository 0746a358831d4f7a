import SluiceRPC
import SluiceStore

/// What every call to sluiced's services passes through, in one place, so that handlers hold
/// only their own logic (request → store → response):
///
/// 1. the caller is resolved once, from the verified client certificate by `mapping`
///    (`--principal-from`) and the `CallerDirectory`, and put in the call's context
///    (`ServerContext.caller`); a connection without a certificate, or one naming no
///    principal, leaves the UNAUTHENTICATED refusal there instead;
/// 2. the limits (`LimitAdmission`) admit or refuse that same caller and meter its bytes,
///    admitting it again as a long call goes on (a principal disabled meanwhile is refused,
///    and so is a connection whose client certificate expired since its handshake);
/// 3. the handler runs, and whatever the store throws on the way — before, during or after
///    a stream — becomes a gRPC status (`mappingStorageErrors`).
///
/// Health and reflection need no principal: load balancers and tools call them without one,
/// so neither a lookup nor a limit applies to them.
public struct StorageCallInterceptor: CallInterceptor {
    let mapping: PrincipalMapping
    let callers: any CallerDirectory
    let limits: LimitAdmission

    public init(mapping: PrincipalMapping, callers: any CallerDirectory, limits: LimitAdmission) {
        self.mapping = mapping
        self.callers = callers
        self.limits = limits
    }

    static let anonymous: Set<String> = [
        "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
    ]

    public func intercept(
        _ context: ServerContext, next: (_ meter: (any CallByteMeter)?) async throws -> Void
    ) async throws {
        try await mappingStorageErrors {
            guard !Self.anonymous.contains(context.method.service) else { return try await next(nil) }
            let resolution = try await resolve(context.peer)
            context[CallerResolution.self] = resolution
            switch resolution {
            case .success(let caller):
                let meter = try limits.admit(caller, certificateExpiry: context.peer?.notAfter) { [callers] in
                    try await callers.caller(named: caller.name)
                }
                context[IdleCallReadmission.self] = meter
                try await next(meter)
            case .failure: try await next(nil)  // the handler refuses it when it asks for the caller
            }
        }
    }

    private func resolve(_ peer: PeerIdentity?) async throws -> Result<Caller, RPCError> {
        guard let peer else {
            return .failure(RPCError(
                .unauthenticated,
                "storage calls need a client certificate: connect with mutual TLS (--cert and --key)"))
        }
        let name: String
        do {
            name = try mapping.principalName(of: peer)
        } catch {
            return .failure(RPCError(.unauthenticated, error.description))
        }
        do {
            return .success(try await callers.caller(named: name))
        } catch let tooLong as IdentityTooLong {
            return .failure(RPCError(
                .unauthenticated,
                "the client certificate's identity (as --principal-from names it) is \(tooLong); use a certificate "
                    + "with fewer names, or ask the operator for a --principal-from that takes fewer of them"))
        }
    }
}
