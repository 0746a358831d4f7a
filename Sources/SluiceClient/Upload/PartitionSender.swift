import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC

/// Sends partitions of a file to an upload session, `parallelism` at a time, each as one
/// UploadPartition call: the target, then the partition's bytes one chunk-sized message at a
/// time, read from disk into the message's frame just before it is sent.
///
/// Transient failures are retried by the policy. DATA_LOSS (the server hashed something
/// other than what was declared) is sent once more, then reported as an integrity failure.
struct PartitionSender: Sendable {
    let sessions: Sluice_V1_UploadSessionServiceClient
    let file: LocalFile
    let plan: PartitionPlan
    /// The SHA-256 of each partition, as declared to the session.
    let digests: [[UInt8]]
    let sessionID: String
    let options: UploadOptions
    let progress: @Sendable (TransferEvent) -> Void

    /// Sends the partitions; the first failure that retries cannot fix cancels the rest.
    func send(_ partitions: [Int]) async throws {
        try await BoundedConcurrency.forEach(partitions, limit: options.parallelism) { index in
            try await send(index)
        }
    }

    private func send(_ index: Int) async throws {
        var resentAfterDataLoss = false
        while true {
            do {
                let response = try await options.retry.run("upload of partition \(index)", onRetry: {
                    progress(.retrying($0))
                }) {
                    try await attempt(index)
                }
                try check(response, for: index)
                progress(.partitionCompleted(
                    partition: index, size: response.size, alreadyStored: response.alreadyStored))
                return
            } catch let error as RPCError where error.code == .dataLoss {
                guard !resentAfterDataLoss else {
                    throw IntegrityError(
                        "the server refused partition \(index) twice (\(error.message)); did \(file.path) change "
                            + "during the upload?")
                }
                resentAfterDataLoss = true
            }
        }
    }

    /// Checks that the server stored what was declared for the partition.
    private func check(_ response: Sluice_V1_UploadPartitionResponse, for index: Int) throws {
        let size = plan.size(of: index)
        guard response.partitionIndex == index, response.size == size, [UInt8](response.sha256) == digests[index] else {
            throw IntegrityError(
                "the server acknowledged partition \(index) as \(response.size) bytes with SHA-256 "
                    + "\(Hex.encode(response.sha256)), not \(size) bytes with \(Hex.encode(digests[index]))")
        }
    }

    /// One UploadPartition call. The bytes it sent stop counting if it fails.
    private func attempt(_ index: Int) async throws -> Sluice_V1_UploadPartitionResponse {
        let tally = AttemptTally()
        let (file, plan, chunkSize, sessionID, progress) = (file, plan, options.chunkSize, sessionID, progress)
        do {
            // No deadline (a partition may take long), but a stall ends the call and it is retried.
            return try await sessions.uploadPartition(options: CallOptions(idleTimeout: options.callTimeout)) { writer in
                try await writer.write(.with {
                    $0.target = .with {
                        $0.sessionID = sessionID
                        $0.partitionIndex = Int32(index)
                    }
                })
                var offset = plan.offset(of: index)
                let end = offset + plan.size(of: index)
                while offset < end {
                    // Writes suspend only when the transport is full, so they may not notice.
                    try Task.checkCancellation()
                    let count = Int(min(Int64(chunkSize), end - offset))
                    let at = offset
                    // Read from the file straight into the outgoing frame (see PayloadWire).
                    try await writer.write(
                        encodedSize: PayloadWire.encodedSize(field: PayloadWire.uploadDataField, count: count)
                    ) { message in
                        try tally.own {
                            try PayloadWire.encode(field: PayloadWire.uploadDataField, count: count, into: message) {
                                try file.read(exactly: $0, at: at)
                            }
                        }
                    }
                    offset += Int64(count)
                    tally.add(Int64(count))
                    progress(.transferred(partition: index, bytes: Int64(count)))
                }
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
