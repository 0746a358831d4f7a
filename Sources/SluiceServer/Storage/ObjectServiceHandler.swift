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
    let readBuffers: ReadBufferBudget

    /// `readBuffers` is shared with the PartitionService of the same server.
    public init(storage: Storage, readBuffers: ReadBufferBudget = ReadBufferBudget()) {
        self.storage = storage
        self.readBuffers = readBuffers
    }

    public func getObject(request: Sluice_V1_GetObjectRequest, context: ServerContext) async throws
        -> Sluice_V1_ObjectInfo
    {
        let caller = try context.caller
        let owner = try await caller.owner(request.owner, in: storage)
        return Sluice_V1_ObjectInfo(
            try await storage.objects.version(request.name, request.version, of: caller.principal, owner: owner))
    }

    public func listObjects(request: Sluice_V1_ListObjectsRequest, context: ServerContext) async throws
        -> Sluice_V1_ListObjectsResponse
    {
        let caller = try context.caller
        let owner = try await caller.owner(request.owner, in: storage)
        let page = try await storage.objects.list(
            prefix: request.prefix, delimiter: request.delimiter, principal: caller.principal, owner: owner,
            pageSize: Int(request.pageSize), pageToken: request.pageToken)
        var response = Sluice_V1_ListObjectsResponse()
        response.objects = page.objects.map(Sluice_V1_ObjectInfo.init)
        response.commonPrefixes = page.commonPrefixes
        response.nextPageToken = page.nextPageToken
        response.changeCursor = page.changeCursor.description
        return response
    }

    public func deleteObject(request: Sluice_V1_DeleteObjectRequest, context: ServerContext) async throws
        -> Sluice_V1_DeleteObjectResponse
    {
        let caller = try context.caller
        var response = Sluice_V1_DeleteObjectResponse()
        let owner = try await caller.owner(request.owner, in: storage)
        response.deletedVersions = try await storage.objects.delete(
            request.name, of: caller.principal, owner: owner, keepVersions: request.keepVersions,
            ifCurrentVersion: request.ifCurrentVersion == 0 ? nil : request.ifCurrentVersion)
        return response
    }

    public func readObject(
        request: Sluice_V1_ReadObjectRequest, response: ServerResponseWriter<Sluice_V1_ReadObjectResponse>,
        context: ServerContext
    ) async throws {
        let caller = try context.caller
        let owner = try await caller.owner(request.owner, in: storage)
        let version = try await storage.objects.version(request.name, request.version, of: caller.principal, owner: owner)
        let range = try ReadRange.resolve(offset: request.offset, length: request.length, size: version.size)
        var first = Sluice_V1_ReadObjectResponse()
        first.object = Sluice_V1_ObjectInfo(version)
        // The first message's `object` field goes ahead of its data (field order is free).
        var pendingFirst: [UInt8]? = try first.serializedBytes()
        let bytes = try ObjectBytes(
            version, range: range, blobs: storage.blobs, chunkSize: Self.readChunkSize, ledger: storage.damage,
            checked: !request.clientVerifies)
        try await readBuffers.reading(Int64(range.count), inChunksOf: Self.readChunkSize, by: caller.principal) {
            for try await chunk in bytes {
                let head = (pendingFirst ?? []) + ReadResponseEncoding.data(chunk.count)
                pendingFirst = nil
                try await response.write(encodedHead: head, body: chunk)
            }
        }
        if let pendingFirst { try await response.write(encodedHead: pendingFirst, body: []) }
    }

    public func listObjectVersions(request: Sluice_V1_ListObjectVersionsRequest, context: ServerContext) async throws
        -> Sluice_V1_ListObjectVersionsResponse
    {
        let caller = try context.caller
        let owner = try await caller.owner(request.owner, in: storage)
        let page = try await storage.objects.versions(
            of: request.name, principal: caller.principal, owner: owner, pageSize: Int(request.pageSize), pageToken: request.pageToken)
        var response = Sluice_V1_ListObjectVersionsResponse()
        response.versions = page.versions.map(Sluice_V1_ObjectInfo.init)
        response.nextPageToken = page.nextPageToken
        return response
    }

    public func restoreObjectVersion(request: Sluice_V1_RestoreObjectVersionRequest, context: ServerContext)
        async throws -> Sluice_V1_ObjectInfo
    {
        let caller = try context.caller
        let owner = try await caller.owner(request.owner, in: storage)
        return Sluice_V1_ObjectInfo(
            try await storage.objects.restore(
                request.name, version: request.version, of: caller.principal, owner: owner,
                ifCurrentVersion: request.ifCurrentVersion == 0 ? nil : request.ifCurrentVersion))
    }

    public func putObject(request: Sluice_V1_PutObjectRequest, context: ServerContext) async throws
        -> Sluice_V1_ObjectInfo
    {
        let caller = try context.caller
        let owner = try await caller.owner(request.owner, in: storage)
        let object = SmallObject(
            name: request.name, data: request.data, sha256: [UInt8](request.sha256),
            contentType: request.contentType, userMetadata: request.userMetadata,
            requestID: request.requestID.isEmpty ? nil : request.requestID)
        return Sluice_V1_ObjectInfo(
            try await storage.sessions.put(object, by: caller.principal, owner: owner, objects: storage.objects))
    }
}
