import Foundation
import SluiceProto
import SluiceRPC
import SluiceStore

/// sluice.v1.PartitionService on top of the store.
public struct PartitionServiceHandler: Sluice_V1_PartitionServiceService {
    let storage: Storage
    let readBuffers: ReadBufferBudget

    /// `readBuffers` is shared with the ObjectService of the same server.
    public init(storage: Storage, readBuffers: ReadBufferBudget = ReadBufferBudget()) {
        self.storage = storage
        self.readBuffers = readBuffers
    }

    public func getPartitionInfo(request: Sluice_V1_GetPartitionInfoRequest, context: ServerContext) async throws
        -> Sluice_V1_PartitionInfo
    {
        let caller = try context.caller
        let owner = try await caller.owner(request.owner, in: storage)
        return Sluice_V1_PartitionInfo(try await storage.objects.partition(
            Int(request.partitionIndex), of: request.objectName, version: request.version, principal: caller.principal,
            owner: owner))
    }

    public func readPartition(
        request: Sluice_V1_ReadPartitionRequest, response: ServerResponseWriter<Sluice_V1_ReadPartitionResponse>,
        context: ServerContext
    ) async throws {
        let caller = try context.caller
        let owner = try await caller.owner(request.owner, in: storage)
        let count = request.partitionCount == 0 ? 1 : Int(request.partitionCount)
        guard count <= 1 || (request.offset == 0 && request.length == 0) else {
            throw StorageError.invalidArgument(
                "offset and length apply to one partition: with partition_count \(count) both must be 0")
        }
        let partitions = try await storage.objects.partitions(
            from: Int(request.partitionIndex), count: count, of: request.objectName, version: request.version,
            principal: caller.principal, owner: owner)
        let largest = partitions.map(\.size).max() ?? 0
        try await readBuffers.reading(largest, inChunksOf: ObjectServiceHandler.readChunkSize, by: caller.principal) {
            for partition in partitions {
                let local = try ReadRange.resolve(
                    offset: request.offset, length: request.length, size: partition.size, of: "partition \(partition.index)")
                let key = try BlobKey(scope: partition.blobScope, sha256: partition.sha256)
                let bytes = VerifiedBlobBytes(
                    blobs: storage.blobs, key: key, range: local,
                    blobSize: request.clientVerifies ? nil : partition.size,
                    chunkSize: ObjectServiceHandler.readChunkSize,
                    partition: partition.index, of: "'\(request.objectName)'", ledger: storage.damage,
                    damageRecorded: partition.damageRecorded)
                for try await chunk in bytes {
                    try await response.write(encodedHead: ReadResponseEncoding.data(chunk.count), body: chunk)
                }
            }
        }
    }
}
