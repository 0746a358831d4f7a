import Foundation
import SluiceProto
import SluiceStore
import SwiftProtobuf

/// Conversions from storage records to the API's messages.
extension Sluice_V1_UploadSession {
    init(_ record: SessionRecord) {
        self.init()
        sessionID = record.id.description
        objectName = record.objectName
        totalSize = record.totalSize
        partitionSize = record.partitionSize
        partitionCount = Int32(clamping: record.partitionCount)
        storedPartitions = record.storedPartitions.map { Int32(clamping: $0) }
        storedBytes = record.storedBytes
        state = switch record.state {
        case .open: .open
        case .committed: .committed
        case .aborted: .aborted
        case .expired: .expired
        }
        createTime = Google_Protobuf_Timestamp(date: record.createdAt)
        expireTime = Google_Protobuf_Timestamp(date: record.expiresAt)
        contentType = record.contentType
        userMetadata = record.userMetadata
        objectSha256 = Data(record.objectSHA256 ?? [])
        partitionSha256 = record.partitionSHA256.map { Data($0) }
        committedVersion = record.committedVersion ?? 0
        owner = record.ownerHandle
        skipWholeSha256 = record.skipsWholeSHA256
    }
}

extension Sluice_V1_ObjectInfo {
    init(_ record: ObjectVersionRecord) {
        self.init()
        name = record.name
        version = record.version
        size = record.size
        sha256 = Data(record.sha256)
        compositeSha256 = Data(record.compositeSHA256)
        sha256State = switch record.sha256State {
        case .pending: .pending
        case .verified: .verified
        case .undeclared: .undeclared
        case .mismatch: .mismatch
        case .notComputed: .notComputed
        }
        contentType = record.contentType
        userMetadata = record.userMetadata
        createTime = Google_Protobuf_Timestamp(date: record.createdAt)
        updateTime = Google_Protobuf_Timestamp(date: record.committedAt)
        partitionSize = record.partitionSize
        partitionCount = Int32(clamping: record.partitionCount)
        partitions = record.partitions.map(Sluice_V1_PartitionInfo.init)
        isCurrent = record.isCurrent
        restoredFromVersion = record.restoredFrom ?? 0
        owner = record.owner
        writtenBy = record.writtenBy
    }
}

extension Sluice_V1_PartitionInfo {
    init(_ record: PartitionRecord) {
        self.init()
        index = Int32(clamping: record.index)
        offset = record.offset
        size = record.size
        sha256 = Data(record.sha256)
    }
}
