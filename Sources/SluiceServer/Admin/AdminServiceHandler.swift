import Logging
import SluiceProto
import SluiceRPC
import SluiceStore
import SwiftProtobuf

/// sluice.v1.AdminService: principals, their limits, their usage, disabling them. Only the
/// identities of the `AdminRoster` (`--admin`) may call it; every call, refused or done, is
/// logged with the caller's identity.
public struct AdminServiceHandler: Sluice_V1_AdminServiceService {
    let storage: Storage
    let admins: AdminRoster
    /// Spells a registered identity as certificates will (``PrincipalMapping/canonical(_:)``).
    let mapping: PrincipalMapping
    let policies: PrincipalPolicies?
    let traffic: TrafficRecorder?
    let logger: Logger

    public init(
        storage: Storage, admins: AdminRoster, mapping: PrincipalMapping = .subjectAndSANs,
        policies: PrincipalPolicies? = nil,
        traffic: TrafficRecorder? = nil, logger: Logger = Logger(label: "sluice.admin")
    ) {
        self.storage = storage
        self.admins = admins
        self.mapping = mapping
        self.policies = policies
        self.traffic = traffic
        self.logger = logger
    }

    public func listPrincipals(request: Sluice_V1_ListPrincipalsRequest, context: ServerContext) async throws
        -> Sluice_V1_ListPrincipalsResponse
    {
        try await administered("ListPrincipals", context, detail: [:]) {
            let listed = try await storage.administration.list(
                pageSize: Int(request.pageSize), pageToken: request.pageToken, for: try context.caller.principal)
            var response = Sluice_V1_ListPrincipalsResponse()
            response.principals = listed.page.map(record)
            response.nextPageToken = listed.nextPageToken
            return response
        }
    }

    public func registerPrincipal(request: Sluice_V1_RegisterPrincipalRequest, context: ServerContext) async throws
        -> Sluice_V1_PrincipalRecord
    {
        try await administered(
            "RegisterPrincipal", context, detail: ["handle": "\(request.handle)", "identity": "\(request.identity)"]
        ) {
            let principal = try await storage.principals.register(
                handle: request.handle, identity: mapping.canonical(request.identity))
            return record(try await storage.administration.record(handle: principal.handle))
        }
    }

    public func setLimits(request: Sluice_V1_SetLimitsRequest, context: ServerContext) async throws
        -> Sluice_V1_PrincipalRecord
    {
        try await administered(
            "SetLimits", context,
            detail: [
                "handle": "\(request.handle)",
                "set": "\(request.set.map { "\(Self.kind(of: $0.limit)?.rawValue ?? "?")=\($0.value)" }.joined(separator: ","))",
                "clear": "\(request.clear.map { Self.kind(of: $0)?.rawValue ?? "?" }.joined(separator: ","))",
            ]
        ) {
            let set = try request.set.map { change in
                guard let kind = Self.kind(of: change.limit) else { throw Self.unknownLimit }
                return (kind, change.value)
            }
            let clear = try request.clear.map { limit in
                guard let kind = Self.kind(of: limit) else { throw Self.unknownLimit }
                return kind
            }
            let updated = try await storage.administration.setLimits(handle: request.handle, set: set, clear: clear)
            policies?.forget(identity: updated.principal.name)
            return record(updated)
        }
    }

    public func getPrincipalUsage(request: Sluice_V1_GetPrincipalUsageRequest, context: ServerContext) async throws
        -> Sluice_V1_Usage
    {
        try await administered("GetPrincipalUsage", context, detail: ["handle": "\(request.handle)"]) {
            let principal = try await storage.administration.record(handle: request.handle).principal
            return try await UsageMapping.usage(of: principal, days: Int(request.days), storage: storage, traffic: traffic)
        }
    }

    public func setPrincipalDisabled(request: Sluice_V1_SetPrincipalDisabledRequest, context: ServerContext)
        async throws -> Sluice_V1_PrincipalRecord
    {
        try await administered(
            "SetPrincipalDisabled", context, detail: ["handle": "\(request.handle)", "disabled": "\(request.disabled)"]
        ) {
            let updated = try await storage.administration.setDisabled(handle: request.handle, request.disabled)
            policies?.forget(identity: updated.principal.name)
            return record(updated)
        }
    }

    public func abortPrincipalSessions(request: Sluice_V1_AbortPrincipalSessionsRequest, context: ServerContext)
        async throws -> Sluice_V1_AbortPrincipalSessionsResponse
    {
        try await administered("AbortPrincipalSessions", context, detail: ["handle": "\(request.handle)"]) {
            var response = Sluice_V1_AbortPrincipalSessionsResponse()
            response.abortedSessions = Int64(try await storage.administration.abortSessions(handle: request.handle))
            return response
        }
    }

    /// Runs an admin action for an administrator, logging who asked for what and how it ended;
    /// anyone else gets PERMISSION_DENIED (also logged).
    private func administered<Result>(
        _ action: String, _ context: ServerContext, detail: Logger.Metadata, _ body: () async throws -> Result
    ) async throws -> Result {
        var metadata = detail
        metadata["action"] = "\(action)"
        metadata["request_id"] = "\(context.requestID)"
        guard let name = try? context.caller.name else {
            logger.warning("admin action refused: no identity", metadata: metadata)
            throw RPCError(.unauthenticated, "admin calls need a client certificate of an administrator (--admin)")
        }
        metadata["admin"] = "\(name)"
        guard admins.contains(name) else {
            logger.warning("admin action refused: not an administrator", metadata: metadata)
            throw RPCError(
                .permissionDenied,
                "'\(name)' is not an administrator of this server; sluiced names administrators with --admin")
        }
        do {
            let result = try await body()
            logger.notice("admin action", metadata: metadata)
            return result
        } catch {
            metadata["error"] = "\(error)"
            logger.notice("admin action failed", metadata: metadata)
            throw error
        }
    }

    private func record(_ view: PrincipalRecordView) -> Sluice_V1_PrincipalRecord {
        var record = Sluice_V1_PrincipalRecord()
        record.handle = view.principal.handle
        record.identity = view.principal.name
        record.createTime = Google_Protobuf_Timestamp(date: view.createdAt)
        record.disabled = view.settings.disabled
        record.admin = admins.contains(view.principal.name)
        record.overrides = LimitKind.allCases.compactMap { kind in
            guard let value = view.settings.overrides[kind] else { return nil }
            var entry = Sluice_V1_LimitOverride()
            entry.limit = Self.limit(of: kind)
            entry.value = value
            return entry
        }
        record.quotas = UsageMapping.quotas(view.settings.quotas(defaults: storage.limits.defaultQuotas))
        record.rateLimits = UsageMapping.rates(view.settings.rates(defaults: storage.limits.defaultRateLimits))
        return record
    }

    static let unknownLimit = RPCError(
        .invalidArgument,
        "limit must be one of LIMIT_QUOTA_BYTES, LIMIT_QUOTA_OBJECTS, LIMIT_QUOTA_SESSIONS, LIMIT_REQUESTS_PER_SECOND, "
            + "LIMIT_BYTES_IN_PER_SECOND, LIMIT_BYTES_OUT_PER_SECOND")

    static func kind(of limit: Sluice_V1_Limit) -> LimitKind? {
        switch limit {
        case .quotaBytes: .quotaBytes
        case .quotaObjects: .quotaObjects
        case .quotaSessions: .quotaSessions
        case .requestsPerSecond: .requestsPerSecond
        case .bytesInPerSecond: .bytesInPerSecond
        case .bytesOutPerSecond: .bytesOutPerSecond
        default: nil
        }
    }

    static func limit(of kind: LimitKind) -> Sluice_V1_Limit {
        switch kind {
        case .quotaBytes: .quotaBytes
        case .quotaObjects: .quotaObjects
        case .quotaSessions: .quotaSessions
        case .requestsPerSecond: .requestsPerSecond
        case .bytesInPerSecond: .bytesInPerSecond
        case .bytesOutPerSecond: .bytesOutPerSecond
        }
    }
}
