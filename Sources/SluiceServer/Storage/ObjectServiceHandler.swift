import Foundation
import SluiceProto
import SluiceRPC
import SluiceStore

/// sluice.v1.ObjectService on top of the store.
public struct ObjectServiceHandler: Sluice_V1_ObjectServiceService {
    /// Bytes per ReadObject / ReadPartition message: well under the 4 MiB default a
    /// client accepts, large enough to keep per-message costs small.
    static let readChunkSize = 1024 * 1024

    let storage: Storage
    let identity: CallerIdentity

    public init(storage: Storage, identity: CallerIdentity = CallerIdentity()) {
        self.storage = storage
        self.identity = identity
    }

    public func getObject(request: Sluice_V1_GetObjectRequest, context: ServerContext) async throws
        -> Sluice_V1_ObjectInfo
    {
        try await mappingStorageErrors {
            let principal = try await identity.principal(of: context, in: storage)
            let owner = try await identity.owner(request.owner, caller: principal, in: storage)
            return Sluice_V1_ObjectInfo(
                try await storage.objects.version(request.name, request.version, of: principal, owner: owner))
        }
    }

    public func listObjects(request: Sluice_V1_ListObjectsRequest, context: ServerContext) async throws
        -> Sluice_V1_ListObjectsResponse
    {
        try await mappingStorageErrors {
            let principal = try await identity.principal(of: context, in: storage)
            let owner = try await identity.owner(request.owner, caller: principal, in: storage)
            let page = try await storage.objects.list(
                prefix: request.prefix, delimiter: request.delimiter, principal: principal, owner: owner,
                pageSize: Int(request.pageSize), pageToken: request.pageToken)
            var response = Sluice_V1_ListObjectsResponse()
            response.objects = page.objects.map(Sluice_V1_ObjectInfo.init)
            response.commonPrefixes = page.commonPrefixes
            response.nextPageToken = page.nextPageToken
            response.changeCursor = page.changeCursor.description
            return response
        }
    }

    public func deleteObject(request: Sluice_V1_DeleteObjectRequest, context: ServerContext) async throws
        -> Sluice_V1_DeleteObjectResponse
    {
        try await mappingStorageErrors {
            let principal = try await identity.principal(of: context, in: storage)
            var response = Sluice_V1_DeleteObjectResponse()
            let owner = try await identity.owner(request.owner, caller: principal, in: storage)
            response.deletedVersions = try await storage.objects.delete(
                request.name, of: principal, owner: owner, keepVersions: request.keepVersions)
            return response
        }
    }

    public func readObject(
        request: Sluice_V1_ReadObjectRequest, response: ServerResponseWriter<Sluice_V1_ReadObjectResponse>,
        context: ServerContext
    ) async throws {
        try await mappingStorageErrors {
            let principal = try await identity.principal(of: context, in: storage)
            let owner = try await identity.owner(request.owner, caller: principal, in: storage)
            let version = try await storage.objects.version(request.name, request.version, of: principal, owner: owner)
            let range = try ReadRange.resolve(offset: request.offset, length: request.length, size: version.size)
            var first = Sluice_V1_ReadObjectResponse()
            first.object = Sluice_V1_ObjectInfo(version)
            // The first message's `object` field goes ahead of its data (field order is free).
            var pendingFirst: [UInt8]? = try first.serializedBytes()
            let bytes = try ObjectBytes(
                version, range: range, blobs: storage.blobs, chunkSize: Self.readChunkSize, ledger: storage.damage)
            for try await chunk in bytes {
                let head = (pendingFirst ?? []) + ReadResponseEncoding.data(chunk.count)
                pendingFirst = nil
                try await response.write(encodedHead: head, body: chunk)
            }
            if let pendingFirst { try await response.write(encodedHead: pendingFirst, body: []) }
        }
    }

    public func listObjectVersions(request: Sluice_V1_ListObjectVersionsRequest, context: ServerContext) async throws
        -> Sluice_V1_ListObjectVersionsResponse
    {
        try await mappingStorageErrors {
            let principal = try await identity.principal(of: context, in: storage)
            let owner = try await identity.owner(request.owner, caller: principal, in: storage)
            let page = try await storage.objects.versions(
                of: request.name, principal: principal, owner: owner, pageSize: Int(request.pageSize), pageToken: request.pageToken)
            var response = Sluice_V1_ListObjectVersionsResponse()
            response.versions = page.versions.map(Sluice_V1_ObjectInfo.init)
            response.nextPageToken = page.nextPageToken
            return response
        }
    }

    public func restoreObjectVersion(request: Sluice_V1_RestoreObjectVersionRequest, context: ServerContext)
        async throws -> Sluice_V1_ObjectInfo
    {
        try await mappingStorageErrors {
            let principal = try await identity.principal(of: context, in: storage)
            let owner = try await identity.owner(request.owner, caller: principal, in: storage)
            return Sluice_V1_ObjectInfo(
                try await storage.objects.restore(request.name, version: request.version, of: principal, owner: owner))
        }
    }

    public func putObject(request: Sluice_V1_PutObjectRequest, context: ServerContext) async throws
        -> Sluice_V1_ObjectInfo
    {
        try await mappingStorageErrors {
            let principal = try await identity.principal(of: context, in: storage)
            let owner = try await identity.owner(request.owner, caller: principal, in: storage)
            let object = SmallObject(
                name: request.name, data: request.data, sha256: [UInt8](request.sha256),
                contentType: request.contentType, userMetadata: request.userMetadata,
                requestID: request.requestID.isEmpty ? nil : request.requestID)
            return Sluice_V1_ObjectInfo(
                try await storage.sessions.put(object, by: principal, owner: owner, objects: storage.objects))
        }
    }
}
