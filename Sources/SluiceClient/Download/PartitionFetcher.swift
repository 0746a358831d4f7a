import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC

/// Reads single partitions of one object version with ReadPartition, hashing the bytes as
/// they arrive and handing them to a sink; a partition counts only once its size and
/// SHA-256 match the object's description.
///
/// Transient failures are retried by the policy. A mismatch (or DATA_LOSS from the server)
/// is fetched once more, then reported as an integrity failure.
struct PartitionFetcher: Sendable {
    /// Takes the bytes of a partition, in order, with their offset in the partition. An
    /// attempt that starts again starts again at offset 0. The bytes are the buffer they
    /// arrived in (see PayloadWire), valid only during the call.
    typealias Sink = @Sendable (UnsafeRawBufferPointer, Int64) throws -> Void

    let partitions: Sluice_V1_PartitionServiceClient
    let layout: ObjectLayout
    let options: DownloadOptions
    let progress: @Sendable (TransferEvent) -> Void

    func fetch(_ index: Int, into sink: @escaping Sink) async throws {
        var refetchedAfterMismatch = false
        while true {
            do {
                try await options.retry.run("read of partition \(index)", onRetry: { progress(.retrying($0)) }) {
                    try await attempt(index, sink)
                }
                progress(.partitionCompleted(partition: index, size: layout.plan.size(of: index), alreadyStored: false))
                return
            } catch let error where FailureKind(error) == .integrity && !refetchedAfterMismatch {
                refetchedAfterMismatch = true
            }
        }
    }

    private func attempt(_ index: Int, _ sink: @escaping Sink) async throws {
        let tally = AttemptTally()
        let expected = layout.object.partitions[index]
        var request = Sluice_V1_ReadPartitionRequest()
        request.objectName = layout.object.name
        request.version = layout.object.version
        request.partitionIndex = Int32(index)
        request.owner = layout.object.owner
        let progress = progress
        do {
            let digest = try await partitions.readPartition(request) { responses -> [UInt8] in
                var hasher = SHA256()
                var received: Int64 = 0
                for try await message in responses.encodedMessages {
                    // A stream that always has data ready never suspends, so it would not notice.
                    try Task.checkCancellation()
                    let data = try PayloadWire.readPartitionData(message)
                    let count = Int64(data.count)
                    try tally.own {
                        guard received + count <= expected.size else {
                            throw IntegrityError(
                                "partition \(index): the server sent more than its \(expected.size) bytes")
                        }
                        try data.withUnsafeBytes { bytes in
                            hasher.update(bytes)
                            try sink(bytes, received)
                        }
                    }
                    received += count
                    tally.add(count)
                    progress(.transferred(partition: index, bytes: count))
                }
                try tally.own {
                    guard received == expected.size else {
                        throw IntegrityError("partition \(index) ended after \(received) of its \(expected.size) bytes")
                    }
                }
                return hasher.finalize()
            }
            guard digest == [UInt8](expected.sha256) else {
                throw IntegrityError(
                    "partition \(index) has SHA-256 \(Hex.encode(digest)), "
                        + "not the declared \(Hex.encode(expected.sha256))")
            }
        } catch {
            let reported = tally.reported(error)
            if tally.bytes > 0 {
                progress(.partitionRestarted(partition: index, discardedBytes: tally.bytes, reason: "\(reported)"))
            }
            throw reported
        }
    }
}
