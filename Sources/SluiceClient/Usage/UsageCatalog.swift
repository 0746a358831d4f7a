import SluiceProto
import SluiceRPC

/// The caller's usage (UsageService) and the administrator's calls (AdminService). Reads are
/// retried by the policy; changes are sent once (each says what it did, so a repeat is
/// harmless but would hide a refusal behind a retry).
public struct UsageCatalog: Sendable {
    private let usage: Sluice_V1_UsageServiceClient
    private let admin: Sluice_V1_AdminServiceClient
    private let retry: RetryPolicy
    private let callOptions: CallOptions

    public init(client: RPCClient, retry: RetryPolicy = RetryPolicy(), callTimeout: Duration = .seconds(60)) {
        self.usage = Sluice_V1_UsageServiceClient(client)
        self.admin = Sluice_V1_AdminServiceClient(client)
        self.retry = retry
        self.callOptions = CallOptions(timeout: callTimeout)
    }

    /// The caller's usage with `days` days of traffic (0: the server's default, 7).
    public func mine(days: Int) async throws -> Sluice_V1_Usage {
        var request = Sluice_V1_GetUsageRequest()
        request.days = Int32(clamping: days)
        return try await retry.run("GetUsage") { try await usage.getUsage(request, options: callOptions) }
    }

    /// Another principal's usage (administrators only).
    public func of(handle: String, days: Int) async throws -> Sluice_V1_Usage {
        var request = Sluice_V1_GetPrincipalUsageRequest()
        request.handle = handle
        request.days = Int32(clamping: days)
        return try await retry.run("GetPrincipalUsage") { try await admin.getPrincipalUsage(request, options: callOptions) }
    }

    /// Every principal, page after page.
    public func principals(_ each: (Sluice_V1_PrincipalRecord) throws -> Void) async throws {
        var request = Sluice_V1_ListPrincipalsRequest()
        request.pageSize = 1000
        try await PageTokens.walk("listing of principals", retry: retry) { token in
            request.pageToken = token
            return try await admin.listPrincipals(request, options: callOptions)
        } each: { page in
            try page.principals.forEach(each)
            return (page.nextPageToken, page.principals.count)
        }
    }

    public func register(handle: String, identity: String) async throws -> Sluice_V1_PrincipalRecord {
        var request = Sluice_V1_RegisterPrincipalRequest()
        request.handle = handle
        request.identity = identity
        return try await admin.registerPrincipal(request, options: callOptions)
    }

    public func setLimits(handle: String, set: [Sluice_V1_Limit: Int64], clear: [Sluice_V1_Limit]) async throws
        -> Sluice_V1_PrincipalRecord
    {
        var request = Sluice_V1_SetLimitsRequest()
        request.handle = handle
        request.set = set.sorted { $0.key.rawValue < $1.key.rawValue }.map { limit, value in
            var entry = Sluice_V1_LimitOverride()
            entry.limit = limit
            entry.value = value
            return entry
        }
        request.clear = clear
        return try await admin.setLimits(request, options: callOptions)
    }

    public func setDisabled(handle: String, _ disabled: Bool) async throws -> Sluice_V1_PrincipalRecord {
        var request = Sluice_V1_SetPrincipalDisabledRequest()
        request.handle = handle
        request.disabled = disabled
        return try await admin.setPrincipalDisabled(request, options: callOptions)
    }

    /// Aborts every open upload session of the principal; answers how many.
    public func abortSessions(handle: String) async throws -> Int64 {
        var request = Sluice_V1_AbortPrincipalSessionsRequest()
        request.handle = handle
        return try await admin.abortPrincipalSessions(request, options: callOptions).abortedSessions
    }
}
