import SluiceProto
import SluiceRPC

/// The caller's handle and its grants: make, revoke and list them (SharingService). Reads
/// are retried by the policy; grants and revokes are not retried (a repeat would answer
/// differently: a second revoke finds nothing).
public struct ShareCatalog: Sendable {
    private let sharing: Sluice_V1_SharingServiceClient
    private let retry: RetryPolicy
    private let callOptions: CallOptions

    public init(client: RPCClient, retry: RetryPolicy = RetryPolicy(), callTimeout: Duration = .seconds(60)) {
        self.sharing = Sluice_V1_SharingServiceClient(client)
        self.retry = retry
        self.callOptions = CallOptions(timeout: callTimeout)
    }

    /// The caller's handle and identity as the server knows them.
    public func whoAmI() async throws -> Sluice_V1_PrincipalInfo {
        try await retry.run("WhoAmI") { try await sharing.whoAmI(Sluice_V1_WhoAmIRequest(), options: callOptions) }
    }

    /// Grants `grantee` access to `path`: a prefix when it ends with "/" (unless `object`).
    public func grant(path: String, to grantee: String, write: Bool, object: Bool) async throws -> Sluice_V1_Grant {
        var request = Sluice_V1_GrantAccessRequest()
        request.grantee = grantee
        request.path = path
        request.scope = Self.scope(of: path, object: object)
        request.access = write ? .write : .read
        return try await sharing.grantAccess(request, options: callOptions)
    }

    /// Revokes the grant on `path` to `grantee` (scope chosen as for `grant`).
    public func revoke(path: String, from grantee: String, object: Bool) async throws -> Sluice_V1_Grant {
        var request = Sluice_V1_RevokeAccessRequest()
        request.grantee = grantee
        request.path = path
        request.scope = Self.scope(of: path, object: object)
        return try await sharing.revokeAccess(request, options: callOptions).revoked
    }

    /// Every grant the caller made, page after page.
    public func grantsMade(_ grant: (Sluice_V1_Grant) throws -> Void) async throws {
        var request = Sluice_V1_ListGrantsRequest()
        request.pageSize = 1000
        try await PageTokens.walk("listing of your grants", retry: retry) { token in
            request.pageToken = token
            return try await sharing.listGrants(request, options: callOptions)
        } each: { page in
            try page.grants.forEach(grant)
            return (page.nextPageToken, page.grants.count)
        }
    }

    /// Every grant made to the caller (by `owner` only, unless empty), page after page;
    /// `pageRead` is told of each call that answered.
    public func grantsReceived(
        from owner: String = "", pageRead: () -> Void = {}, _ grant: (Sluice_V1_Grant) throws -> Void
    ) async throws {
        var request = Sluice_V1_ListSharedWithMeRequest()
        request.owner = owner
        request.pageSize = 1000
        let listing = "listing of what \(owner.isEmpty ? "is" : "'\(owner)'") shares with you"
        try await PageTokens.walk(listing, retry: retry) { token in
            request.pageToken = token
            return try await sharing.listSharedWithMe(request, options: callOptions)
        } each: { page in
            pageRead()
            try page.grants.forEach(grant)
            return (page.nextPageToken, page.grants.count)
        }
    }

    /// A path ending with "/" names a folder unless `object` forces one object.
    public static func scope(of path: String, object: Bool) -> Sluice_V1_GrantScope {
        object || !path.hasSuffix("/") ? .object : .prefix
    }
}
