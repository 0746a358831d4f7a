import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC

extension Uploader {
    /// The most bytes PutObject takes (the server's limit): a file this small that fits one
    /// partition is stored in one call instead of an upload session's three.
    static let maxPutObjectBytes: Int64 = 4 * 1024 * 1024

    /// Whether a file of this plan goes up in one PutObject call.
    static func fitsOneCall(_ plan: PartitionPlan) -> Bool {
        plan.count <= 1 && plan.totalSize <= maxPutObjectBytes
    }

    /// Stores the whole file with one PutObject, retried under one request id so that a
    /// retry after a lost answer cannot make a second version. The id goes into the journal
    /// before the call, as a session's does (``openSession``): a run killed while the call
    /// was in flight, run again on the unchanged file, sends the same id and gets the version
    /// that call made, if it made one, instead of a second, identical one. Nil when the
    /// server does not know PutObject (an older sluiced): the caller uploads through a session.
    func put(
        _ file: LocalFile, path: String, to objectName: String, plan: PartitionPlan, digests: FileDigests,
        entry: UploadJournalEntry, previous: UploadJournalEntry?,
        started: ContinuousClock.Instant, progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> TransferSummary? {
        let data = try await BlockingWork.run { _ in try file.read(count: Int(plan.totalSize), at: 0) }
        guard data.count == plan.totalSize else {
            throw FileChangedError(path: path, endsAt: Int64(data.count))
        }
        var request = Sluice_V1_PutObjectRequest()
        request.name = objectName
        request.data = data
        request.sha256 = Data(digests.object)
        request.contentType = options.contentType
        request.owner = options.owner
        progress(.started(TransferStart(
            direction: .upload, objectName: objectName, localPath: path, totalBytes: plan.totalSize,
            partitionSize: plan.partitionSize, partitionCount: plan.count, donePartitions: 0, doneBytes: 0,
            sessionID: nil, resumed: false)))
        let reused = previous?.requestIDToSendAgain(for: entry)
        let object: Sluice_V1_ObjectInfo
        do {
            do {
                object = try await put(request, requestID: reused ?? UUID().uuidString, entry: entry, progress: progress)
            } catch let error as RPCError where error.code == .failedPrecondition && reused != nil {
                // The killed run's call left its session closed without a version (it
                // expired or was aborted): the id is spent, a new one stores the file.
                object = try await put(request, requestID: UUID().uuidString, entry: entry, progress: progress)
            }
        } catch let error as RPCError where error.code == .unimplemented {
            return nil
        } catch let error as RPCError where error.code == .dataLoss {
            throw IntegrityError("the server refused \(path) (\(error.message)); did it change during the upload?")
        }
        if plan.count == 1 {
            // The bytes went out inside the one call: they count as sent once it is answered.
            progress(.transferred(partition: 0, bytes: plan.totalSize))
            progress(.partitionCompleted(partition: 0, size: plan.totalSize, alreadyStored: false))
        }
        try Self.check(object, against: digests, size: plan.totalSize)
        let result = summary(
            of: object, localPath: path, sessionID: nil, plan: plan, sha256: digests.object,
            transferred: (plan.count, plan.totalSize), resumed: false, started: started)
        progress(.completed(result))
        return result
    }

    /// One PutObject under `requestID`, saved in the journal first; retried under it.
    private func put(
        _ request: Sluice_V1_PutObjectRequest, requestID: String, entry: UploadJournalEntry,
        progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> Sluice_V1_ObjectInfo {
        var saved = entry
        saved.requestID = requestID
        try options.journal?.save(saved)
        var request = request
        request.requestID = requestID
        return try await options.retry.run("upload of \(request.name)", onRetry: { progress(.retrying($0)) }) {
            // A stall ends it, not a deadline: 4 MiB over a slow link or at a paced byte rate
            // may take minutes while it moves.
            try await objects.putObject(request, options: CallOptions(idleTimeout: options.callTimeout))
        }
    }
}
