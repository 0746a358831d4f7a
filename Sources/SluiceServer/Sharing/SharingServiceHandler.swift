import Foundation
import SluiceProto
import SluiceRPC
import SluiceStore
import SwiftProtobuf

/// sluice.v1.SharingService on top of the store: who the caller is, and its grants.
public struct SharingServiceHandler: Sluice_V1_SharingServiceService {
    let storage: Storage

    public init(storage: Storage) {
        self.storage = storage
    }

    public func whoAmI(request: Sluice_V1_WhoAmIRequest, context: ServerContext) async throws
        -> Sluice_V1_PrincipalInfo
    {
        let caller = try context.caller
        var info = Sluice_V1_PrincipalInfo()
        info.handle = caller.principal.handle
        info.identity = caller.principal.name
        if let created = try await storage.principals.creationTime(of: caller.principal) {
            info.createTime = Google_Protobuf_Timestamp(date: created)
        }
        return info
    }

    public func grantAccess(request: Sluice_V1_GrantAccessRequest, context: ServerContext) async throws
        -> Sluice_V1_Grant
    {
        let caller = try context.caller
        let scope = try GrantMapping.scope(request.scope)
        let access: GrantAccess = switch request.access {
        case .read: .read
        case .write: .write
        default:
            throw RPCError(.invalidArgument, "access must be ACCESS_READ or ACCESS_WRITE")
        }
        try GrantMapping.requireGrantee(request.grantee)
        return Sluice_V1_Grant(try await storage.grants.grant(
            by: caller.principal, to: request.grantee, scope: scope, path: request.path, access: access))
    }

    public func revokeAccess(request: Sluice_V1_RevokeAccessRequest, context: ServerContext) async throws
        -> Sluice_V1_RevokeAccessResponse
    {
        let caller = try context.caller
        let scope = try GrantMapping.scope(request.scope)
        try GrantMapping.requireGrantee(request.grantee)
        var response = Sluice_V1_RevokeAccessResponse()
        response.revoked = Sluice_V1_Grant(
            try await storage.grants.revoke(by: caller.principal, from: request.grantee, scope: scope, path: request.path))
        return response
    }

    public func listGrants(request: Sluice_V1_ListGrantsRequest, context: ServerContext) async throws
        -> Sluice_V1_ListGrantsResponse
    {
        Sluice_V1_ListGrantsResponse(try await storage.grants.made(
            by: try context.caller.principal, to: request.grantee.isEmpty ? nil : request.grantee,
            pageSize: Int(request.pageSize), pageToken: request.pageToken))
    }

    public func listSharedWithMe(request: Sluice_V1_ListSharedWithMeRequest, context: ServerContext) async throws
        -> Sluice_V1_ListGrantsResponse
    {
        Sluice_V1_ListGrantsResponse(try await storage.grants.received(
            by: try context.caller.principal, from: request.owner.isEmpty ? nil : request.owner,
            pageSize: Int(request.pageSize), pageToken: request.pageToken))
    }
}

/// Grant fields between the API's messages and the store.
enum GrantMapping {
    static func scope(_ scope: Sluice_V1_GrantScope) throws -> GrantScope {
        switch scope {
        case .object: .object
        case .prefix: .prefix
        default: throw RPCError(.invalidArgument, "scope must be GRANT_SCOPE_OBJECT or GRANT_SCOPE_PREFIX")
        }
    }

    static func requireGrantee(_ handle: String) throws {
        guard !handle.isEmpty else {
            throw RPCError(.invalidArgument, "grantee is empty; give the handle of the principal (sluice whoami shows it)")
        }
    }
}

extension Sluice_V1_ListGrantsResponse {
    init(_ page: (grants: [GrantRecord], nextPageToken: String)) {
        self.init()
        grants = page.grants.map(Sluice_V1_Grant.init)
        nextPageToken = page.nextPageToken
    }
}

extension Sluice_V1_Grant {
    init(_ record: GrantRecord) {
        self.init()
        owner = record.owner
        grantee = record.grantee
        scope = record.scope == .object ? .object : .prefix
        path = record.path
        access = record.access == .read ? .read : .write
        updateTime = Google_Protobuf_Timestamp(date: record.updatedAt)
    }
}
