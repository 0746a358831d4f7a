import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC
import Synchronization

/// Reads partitions of one object version with ReadPartition, one per call or a run of
/// consecutive ones per call, hashing the bytes as they arrive and handing them to a sink; a
/// partition counts only once its size and SHA-256 match the object's description.
///
/// Every byte is hashed once, here: the server is asked not to check what it sends
/// (`client_verifies`). A mismatch (or DATA_LOSS from the server) is fetched once more, with
/// the server checking it this time — so damage in storage is recorded by the server and
/// answered DATA_LOSS — then reported as an integrity failure. Transient failures are
/// retried by the policy.
struct PartitionFetcher: Sendable {
    /// Takes the bytes of a partition, in order, with their offset in the partition. An
    /// attempt that starts again starts again at offset 0. The bytes are the buffer they
    /// arrived in (see ``ReadPartitionPieces``), valid only during the call.
    typealias Sink = @Sendable (UnsafeRawBufferPointer, Int64) throws -> Void

    let partitions: Sluice_V1_PartitionServiceClient
    let layout: ObjectLayout
    let options: DownloadOptions
    let progress: @Sendable (TransferEvent) -> Void

    /// Fetches partition `index` alone, retried, refetched once after a mismatch.
    func fetch(_ index: Int, into sink: @escaping Sink) async throws {
        var refetchedAfterMismatch = false
        while true {
            do {
                try await options.retry.run("read of partition \(index)", onRetry: { progress(.retrying($0)) }) {
                    let (_, failure) = await readRun(
                        index..<(index + 1), serverChecks: refetchedAfterMismatch, into: sink, completed: { _ in })
                    if let failure { throw failure }
                }
                return
            } catch let error where FailureKind(error) == .integrity && !refetchedAfterMismatch {
                refetchedAfterMismatch = true
            }
        }
    }

    /// One call reading the partitions `run` whole and in order (`partition_count` when there
    /// are several; a server older than that field sends only the first). Each is checked
    /// against its SHA-256 as its last byte arrives, reported completed and handed to
    /// `completed` (which records it) before any byte of the next goes to `sink`, which gets
    /// the bytes with their offset from the run's start. Returns how many partitions, from the
    /// first, arrived whole and matched, and the failure that ended the call early (a
    /// cancellation among them; a call that ends before its first partition is whole), if one did.
    /// With `serverChecks`, the server checks each partition before it is sent too.
    func readRun(
        _ run: Range<Int>, serverChecks: Bool = false, into sink: @escaping Sink,
        completed: @escaping @Sendable (Int) async throws -> Void
    ) async -> (verified: Int, failure: (any Error)?) {
        let tally = AttemptTally()
        let verified = Atomic<Int>(0)
        let plan = layout.plan
        let partitions = layout.object.partitions
        var request = Sluice_V1_ReadPartitionRequest()
        request.objectName = layout.object.name
        request.version = layout.object.version
        request.partitionIndex = Int32(run.lowerBound)
        request.partitionCount = run.count > 1 ? Int32(run.count) : 0
        request.owner = layout.object.owner
        request.clientVerifies = !serverChecks
        let progress = progress
        do {
            // No deadline (a run may take long), but a stall ends the call and it is retried.
            try await self.partitions.readPartition(request, options: CallOptions(idleTimeout: options.callTimeout)) {
                responses in
                var index = run.lowerBound
                var hasher = SHA256()
                var filled: Int64 = 0
                var runOffset: Int64 = 0
                var pieces = ReadPartitionPieces()
                for try await piece in responses.messagePieces {
                    // A stream that always has data ready never suspends, so it would not notice.
                    try Task.checkCancellation()
                    var data = try pieces.data(in: piece)
                    while !data.isEmpty {
                        guard index < run.upperBound else {
                            throw tally.own(IntegrityError(
                                run.count == 1
                                    ? "partition \(run.lowerBound): the server sent more than its \(plan.size(of: run)) bytes"
                                    : "partitions \(run.lowerBound) to \(run.upperBound - 1): the server sent more than "
                                        + "their \(plan.size(of: run)) bytes"))
                        }
                        let size = plan.size(of: index)
                        let piece = data.prefix(Int(size - filled))
                        try tally.own {
                            try piece.withUnsafeBytes { bytes in
                                hasher.update(bytes)
                                try sink(bytes, runOffset)
                            }
                        }
                        data = data.dropFirst(piece.count)
                        filled += Int64(piece.count)
                        runOffset += Int64(piece.count)
                        tally.add(Int64(piece.count))
                        progress(.transferred(partition: index, bytes: Int64(piece.count)))
                        guard filled == size else { continue }
                        let digest = hasher.finalize()
                        guard digest == [UInt8](partitions[index].sha256) else {
                            throw tally.own(mismatch(index, digest))
                        }
                        progress(.partitionCompleted(partition: index, size: size, alreadyStored: false))
                        try await tally.own { try await completed(index) }
                        verified.add(1, ordering: .relaxed)
                        index += 1
                        hasher = SHA256()
                        filled = 0
                    }
                }
                // A call may end between partitions (an older server sends one), not inside one,
                // nor before its first.
                guard filled == 0, index > run.lowerBound else {
                    throw tally.own(IntegrityError(
                        "partition \(index) ended after \(filled) of its \(plan.size(of: index)) bytes"))
                }
            }
            return (verified.load(ordering: .relaxed), nil)
        } catch {
            let done = verified.load(ordering: .relaxed)
            let reported = tally.reported(error)
            let partial = tally.bytes - (done == 0 ? 0 : plan.size(of: run.prefix(done)))
            if partial > 0 {
                progress(.partitionRestarted(
                    partition: run.lowerBound + done, discardedBytes: partial, reason: "\(reported)"))
            }
            return (done, reported)
        }
    }

    private func mismatch(_ index: Int, _ digest: [UInt8]) -> IntegrityError {
        IntegrityError(
            "partition \(index) has SHA-256 \(Hex.encode(digest)), "
                + "not the declared \(Hex.encode(layout.object.partitions[index].sha256))")
    }
}
