import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC

/// Uploads a local file as a new version of an object: hashes it in one pass, opens (or
/// resumes) an upload session declaring every partition's SHA-256, sends the partitions the session lacks in parallel over the client's one connection, and
/// commits. Memory stays at about `parallelism` chunks whatever the file's size.
///
/// With a journal, an interrupted upload resumes when run again: if the file is unchanged
/// (size, modification time and hashes) and its session is still open, only the partitions
/// the server does not hold are sent.
///
/// Each byte is hashed once, per partition: the whole file's SHA-256 (for the summary) is
/// the server's, computed from the stored bytes, which the partition hashes and the
/// composite vouch for (see ``ServerWholeHash``).
///
/// A new session starts with the partitions the owner already stores marked stored (the
/// server's "only what changed moves"), so only the others are sent; should one of those turn
/// out damaged at commit, it is sent from the file and the commit tried once more.
public struct Uploader: Sendable {
    private let sessions: Sluice_V1_UploadSessionServiceClient
    let objects: Sluice_V1_ObjectServiceClient
    private let server: String
    let options: UploadOptions

    /// - Parameter client: the calls go over its transport; its authority names the server
    ///   in the journal.
    public init(client: RPCClient, options: UploadOptions = UploadOptions()) {
        self.sessions = Sluice_V1_UploadSessionServiceClient(client)
        self.objects = Sluice_V1_ObjectServiceClient(client)
        self.server = client.transport.authority
        self.options = options
    }

    /// The object name an upload of `local` to `remote` makes: `remote`, with the file's
    /// name appended when `remote` ends with "/".
    public static func objectName(for local: String, remote: String) -> String {
        guard remote.hasSuffix("/") else { return remote }
        return remote + (local as NSString).lastPathComponent
    }

    /// The refusal of a file whose size stat does not report (``UnsizedFile``): a usage error,
    /// rather than an upload of nothing or a failure as a changed file.
    private static func sizeNotReported(_ path: String) -> UsageError {
        UsageError(
            "\(path) \(UnsizedFile.reason); copy it to a regular file first (cat FILE > COPY) and upload the copy")
    }

    /// Uploads the file at `path` as object `objectName` and returns what was committed.
    public func upload(
        file path: String, to objectName: String,
        progress: @escaping @Sendable (TransferEvent) -> Void = { _ in }
    ) async throws -> TransferSummary {
        let started = ContinuousClock.now
        let absolutePath = URL(fileURLWithPath: path).standardizedFileURL.path
        let file = try LocalFile.openForReading(absolutePath)
        let status = try file.status()
        guard status.isRegularFile else {
            throw UsageError("\(path) is not a regular file")
        }
        if try UnsizedFile.claimsEmpty(file, status) { throw Self.sizeNotReported(path) }
        let lock = try options.journal?.lock(server: server, path: absolutePath, objectName: objectName)
        defer { withExtendedLifetime(lock) {} }
        let previous = options.journal?.entry(server: server, path: absolutePath, objectName: objectName)
        let plan = try await partitionPlan(size: status.size, previous: previous, objectName: objectName)
        let digests: FileDigests
        do {
            digests = try await FileHashing.partitionDigests(of: file, plan: plan) { bytes in
                progress(.hashing(.planning, bytes: bytes, of: plan.totalSize))
            }
        } catch let error as FileChangedError {
            throw try UnsizedFile.explainsShortRead(of: file, status) ? Self.sizeNotReported(path) : error
        }
        let entry = UploadJournalEntry(
            server: server, path: absolutePath, objectName: objectName, size: status.size,
            modificationTime: status.modificationTime, partitionSize: plan.partitionSize,
            partitionSHA256: digests.partitions.map { Hex.encode($0) }, objectSHA256: Hex.encode(digests.object),
            sessionID: "", owner: options.owner.isEmpty ? nil : options.owner,
            skipsWholeSHA256: options.skipsWholeSHA256 && digests.object.isEmpty ? true : nil)

        if Self.fitsOneCall(plan), previous.map({ $0.sessionID.isEmpty }) ?? true,
           let result = try await put(
               file, path: absolutePath, to: objectName, plan: plan, digests: digests, entry: entry,
               previous: previous, started: started, progress: progress)
        {
            options.journal?.remove(server: server, path: absolutePath, objectName: objectName)
            return result
        }
        var session: Sluice_V1_UploadSession?
        if let previous, !previous.sessionID.isEmpty {
            switch try await resumableSession(previous, matching: entry, progress: progress) {
            case .open(let open):
                session = open
            case .committed(let object):
                try Self.check(object, against: digests, size: plan.totalSize)
                let sha256 = try await wholeSHA256(of: object, file: file, digests: digests, progress: progress)
                options.journal?.remove(server: server, path: absolutePath, objectName: objectName)
                let result = summary(
                    of: object, localPath: absolutePath, sessionID: previous.sessionID, plan: plan, sha256: sha256,
                    transferred: (0, 0), resumed: true, started: started)
                progress(.completed(result))
                return result
            case .unusable:
                options.journal?.remove(server: server, path: absolutePath, objectName: objectName)
            }
        }
        let resumed = session != nil
        let current: Sluice_V1_UploadSession
        if let session {
            current = session
        } else {
            current = try await openSession(entry, previous: previous, plan: plan, digests: digests, progress: progress)
        }

        let stored = Set(current.storedPartitions.map(Int.init))
        let missing = (0..<plan.count).filter { !stored.contains($0) }
        progress(.started(TransferStart(
            direction: .upload, objectName: objectName, localPath: absolutePath, totalBytes: plan.totalSize,
            partitionSize: plan.partitionSize, partitionCount: plan.count, donePartitions: stored.count,
            doneBytes: stored.reduce(0) { $0 + plan.size(of: $1) }, sessionID: current.sessionID, resumed: resumed)))

        let sender = PartitionSender(
            sessions: sessions, file: file, plan: plan, digests: digests.partitions, sessionID: current.sessionID,
            options: options, progress: progress)
        try await sender.send(missing)

        progress(.committing)
        var resent: [Int] = []
        let object: Sluice_V1_ObjectInfo
        do {
            object = try await commit(current.sessionID, progress: progress)
        } catch let error as RPCError where error.code == .dataLoss {
            // A partition the server held (an earlier upload's, or one this session stored)
            // was found damaged at commit and dropped from the session: send what it now
            // lacks, from this file, and commit once more.
            let session = try await options.retry.run("lookup of session \(current.sessionID)", onRetry: {
                progress(.retrying($0))
            }) {
                try await sessions.getSession(
                    .with { $0.sessionID = current.sessionID }, options: CallOptions(timeout: options.callTimeout))
            }
            let held = Set(session.storedPartitions.map(Int.init))
            resent = (0..<plan.count).filter { !held.contains($0) }
            guard !resent.isEmpty else { throw error }
            try await sender.send(resent)
            object = try await commit(current.sessionID, progress: progress)
        }
        try Self.check(object, against: digests, size: plan.totalSize)
        let sha256 = try await wholeSHA256(of: object, file: file, digests: digests, progress: progress)
        options.journal?.remove(server: server, path: absolutePath, objectName: objectName)
        let result = summary(
            of: object, localPath: absolutePath, sessionID: current.sessionID, plan: plan, sha256: sha256,
            transferred: (missing.count + resent.count, (missing + resent).reduce(0) { $0 + plan.size(of: $1) }),
            resumed: resumed,
            started: started)
        progress(.completed(result))
        return result
    }

    /// CommitSession, retried while it fails transiently.
    private func commit(
        _ sessionID: String, progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> Sluice_V1_ObjectInfo {
        try await options.retry.run("commit of session \(sessionID)", onRetry: { progress(.retrying($0)) }) {
            try await sessions.commitSession(
                .with { $0.sessionID = sessionID }, options: CallOptions(timeout: options.callTimeout)
            ).object
        }
    }

    /// The partition plan: the size asked for; else, for a file the journal knows unchanged
    /// in size and time, the size its unfinished upload used; else the size the object's
    /// current version was cut in, when the file fits it and that version has more than one
    /// partition (``PartitionPlan/reusing(storedSize:storedPartitionSize:totalSize:)``); else
    /// the automatic size.
    private func partitionPlan(size: Int64, previous: UploadJournalEntry?, objectName: String) async throws
        -> PartitionPlan
    {
        if let partitionSize = options.partitionSize {
            return try PartitionPlan.upload(totalSize: size, partitionSize: partitionSize)
        }
        if let previous, previous.size == size,
           let plan = try? PartitionPlan.upload(totalSize: size, partitionSize: previous.partitionSize)
        {
            return plan
        }
        if let stored = await currentCut(of: objectName),
           let plan = PartitionPlan.reusing(
               storedSize: stored.size, storedPartitionSize: stored.partitionSize, totalSize: size)
        {
            return plan
        }
        return try PartitionPlan.automatic(totalSize: size)
    }

    /// The size and partition size of the object's current version; nil when there is none (or
    /// the lookup fails: the plan then does without it).
    private func currentCut(of objectName: String) async -> (size: Int64, partitionSize: Int64)? {
        var request = Sluice_V1_GetObjectRequest()
        request.name = objectName
        request.owner = options.owner
        guard let object = try? await objects.getObject(request, options: CallOptions(timeout: options.callTimeout))
        else { return nil }
        return (object.size, object.partitionSize)
    }

    /// What became of a journalled session.
    private enum Resumable {
        /// Still open: send what it lacks.
        case open(Sluice_V1_UploadSession)
        /// An earlier run committed it but stopped before clearing the journal.
        case committed(Sluice_V1_ObjectInfo)
        /// The file changed, or the session is gone, aborted or expired: start afresh.
        case unusable
    }

    private func resumableSession(
        _ previous: UploadJournalEntry, matching current: UploadJournalEntry,
        progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> Resumable {
        let fileUnchanged = current.describesSameFile(as: previous)
        let session: Sluice_V1_UploadSession
        do {
            session = try await options.retry.run("lookup of session \(previous.sessionID)", onRetry: {
                progress(.retrying($0))
            }) {
                try await sessions.getSession(
                    .with { $0.sessionID = previous.sessionID }, options: CallOptions(timeout: options.callTimeout))
            }
        } catch let error where [.notFound, .usage].contains(FailureKind(error)) {
            return .unusable
        }
        let unchanged = fileUnchanged && Self.session(session, declares: current)
        switch session.state {
        case .open where unchanged:
            return .open(session)
        case .open:
            _ = try? await sessions.abortSession(
                .with { $0.sessionID = previous.sessionID }, options: CallOptions(timeout: options.callTimeout))
            return .unusable
        case .committed where unchanged:
            do {
                let object = try await options.retry.run("commit of session \(previous.sessionID)", onRetry: {
                    progress(.retrying($0))
                }) {
                    try await sessions.commitSession(
                        .with { $0.sessionID = previous.sessionID }, options: CallOptions(timeout: options.callTimeout)
                    ).object
                }
                return .committed(object)
            } catch let error where FailureKind(error) == .notFound {
                // The version the session made was deleted since (by another device, say):
                // this upload was never finished here, so it starts over as a new one.
                return .unusable
            }
        default:
            return .unusable
        }
    }

    /// Whether the session was opened for exactly this file as the journal describes it.
    private static func session(_ session: Sluice_V1_UploadSession, declares entry: UploadJournalEntry) -> Bool {
        Array(session.objectName.utf8) == Array(entry.objectName.utf8) && session.totalSize == entry.size
            && (entry.owner ?? session.owner) == session.owner
            && session.partitionSize == entry.partitionSize
            && session.partitionSha256.map { Hex.encode($0) } == entry.partitionSHA256
            && session.skipWholeSha256 == (entry.skipsWholeSHA256 ?? false)
    }

    /// Checks that the version a commit made holds the file's bytes: its size, its composite
    /// hash (the partitions the server verified are the file's), and its whole-object SHA-256
    /// unless the server has not computed it yet (the commit read no bytes), was asked for none,
    /// or the file's was not computed (``wholeSHA256(of:file:digests:progress:)`` settles it
    /// then). A version whose declared hash the server found wrong is never accepted.
    static func check(_ object: Sluice_V1_ObjectInfo, against digests: FileDigests, size: Int64) throws {
        let composite = CompositeDigest.of(digests.partitions)
        let wholeAgrees = object.sha256.isEmpty
            ? object.mayLackWholeSHA256 : digests.object.isEmpty || [UInt8](object.sha256) == digests.object
        let compositeAgrees = object.compositeSha256.isEmpty || [UInt8](object.compositeSha256) == composite
        guard object.size == size, wholeAgrees, compositeAgrees, object.sha256State != .mismatch else {
            throw IntegrityError(
                "the commit made version \(object.version) of \(object.size) bytes with SHA-256 "
                    + "\(object.sha256.isEmpty ? "(pending)" : Hex.encode(object.sha256)) and composite "
                    + "\(Hex.encode(object.compositeSha256)), not \(size) bytes with \(Hex.encode(digests.object)) "
                    + "and composite \(Hex.encode(composite))")
        }
    }

    /// Opens the session for `entry`, idempotently: the request id goes into the journal
    /// before CreateSession is called, so a run killed in between, or a retry after a lost
    /// reply, gets the same session back. A request id left by a run that died before it
    /// saved its session is used again when the file is unchanged; should that session be
    /// closed by now (it expired or was aborted), a fresh id opens a new one.
    private func openSession(
        _ entry: UploadJournalEntry, previous: UploadJournalEntry?, plan: PartitionPlan, digests: FileDigests,
        progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> Sluice_V1_UploadSession {
        let reused = previous?.requestIDToSendAgain(for: entry)
        let first = try await createSession(entry, requestID: reused ?? UUID().uuidString, plan: plan, digests: digests, progress: progress)
        if first.state == .open || reused == nil { return first }
        return try await createSession(entry, requestID: UUID().uuidString, plan: plan, digests: digests, progress: progress)
    }

    private func createSession(
        _ entry: UploadJournalEntry, requestID: String, plan: PartitionPlan, digests: FileDigests,
        progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> Sluice_V1_UploadSession {
        var saved = entry
        saved.requestID = requestID
        try options.journal?.save(saved)
        var request = Sluice_V1_CreateSessionRequest()
        request.requestID = requestID
        request.objectName = entry.objectName
        request.totalSize = plan.totalSize
        request.partitionSize = plan.partitionSize
        request.partitionSha256 = digests.partitions.map { Data($0) }
        request.objectSha256 = Data(digests.object)
        request.skipWholeSha256 = entry.skipsWholeSHA256 ?? false
        request.contentType = options.contentType
        request.owner = options.owner
        let session: Sluice_V1_UploadSession
        do {
            session = try await options.retry.run("creation of an upload session", onRetry: { progress(.retrying($0)) }) {
                try await sessions.createSession(request, options: CallOptions(timeout: options.callTimeout))
            }
        } catch let error as RPCError where FailureKind(error) != .transient {
            // Refused outright: no session was opened under the request id, so the entry
            // holds nothing to resume.
            options.journal?.remove(server: entry.server, path: entry.path, objectName: entry.objectName)
            throw error
        }
        saved.sessionID = session.sessionID
        try options.journal?.save(saved)
        return session
    }

    /// The whole file's SHA-256, for a version `check` accepted: the client's own when it
    /// computed one; else the server's, computed from the stored bytes (the composite it
    /// published matched the file's partition hashes), waited for while its verifier settles
    /// it. Only a server that publishes no composite, or a verifier that does not settle in
    /// time, has the file hashed a second time here. A version made without one (the upload
    /// asked for none) has none: empty.
    private func wholeSHA256(
        of object: Sluice_V1_ObjectInfo, file: LocalFile, digests: FileDigests,
        progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> [UInt8] {
        if !digests.object.isEmpty { return digests.object }
        if object.sha256State == .notComputed { return [] }
        let server = ServerWholeHash(objects: objects, owner: options.owner, callTimeout: options.callTimeout)
        if !object.compositeSha256.isEmpty, let settled = try await server.settled(object) { return settled }
        let size = object.size
        let local = try await BlockingWork.run { flag in
            try FileHashing.digest(of: file, offset: 0, length: size, flag: flag) {
                progress(.hashing(.verifying, bytes: $0, of: size))
            }
        }
        guard let local, object.sha256.isEmpty || [UInt8](object.sha256) == local else {
            throw IntegrityError(
                "the commit made version \(object.version) with SHA-256 \(Hex.encode(object.sha256)), but "
                    + "\(file.path) hashes to \(local.map { Hex.encode($0) } ?? "a shorter file") now")
        }
        return local
    }

    /// The summary of a finished upload whose whole SHA-256 is `sha256`.
    func summary(
        of object: Sluice_V1_ObjectInfo, localPath: String, sessionID: String?, plan: PartitionPlan,
        sha256: [UInt8], transferred: (partitions: Int, bytes: Int64), resumed: Bool, started: ContinuousClock.Instant
    ) -> TransferSummary {
        TransferSummary(
            direction: .upload, objectName: object.name, localPath: localPath, version: object.version,
            size: object.size, sha256: Hex.encode(sha256), compositeSHA256: Hex.encode(object.compositeSha256),
            partitionCount: plan.count,
            partitionsTransferred: transferred.partitions, bytesTransferred: transferred.bytes, resumed: resumed,
            elapsed: ContinuousClock.now - started, sessionID: sessionID)
    }
}
