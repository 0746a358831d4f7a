import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC

/// Carries out the planner's actions on the server and in the local directory. Before it
/// changes the local side, deletes remotely or starts an upload session it checks that the
/// side is still as planned (the local stat, the remote version); if not, the action is
/// deferred to the next pass rather than overwriting a change it has not seen. A small upload
/// (one PutObject) checks after the fact instead: a version another device committed since
/// the listing, which the put overtook, is kept as a conflict copy (a check saved with the
/// upload's record, so that a killed run's next one finishes it). Downloads appear
/// atomically (temporary file, verified, renamed); an upload whose file changed while it was
/// read is sent again. Local files are created, renamed and deleted only through their
/// directory opened without following links (``LocalDirectory``): a path with a link or a
/// file among its parents is skipped and left alone on both sides.
struct SyncExecutor: Sendable {
    let client: RPCClient
    let options: SyncOptions
    let state: SyncStateBox
    let tally: SyncTally
    /// Directories the remote side has something in: an emptied local directory among them is kept.
    let remoteDirectories: Set<PathKey>
    /// The change-feed position of the listing this pass planned from ("" from a server
    /// without one): versions committed after it are other devices' news.
    let listingCursor: String
    /// What the owner shares with the caller when the folder is another's; nil for the caller's own.
    let access: SharedAccess?
    /// The pairing's marker, put into the name of every temporary file (``SyncNames/downloadTemporary(for:marker:)``).
    let temporaryMarker: String
    /// Failures that may mean the owner changed the grant during the pass
    /// (``mayMeanAccessChanged(_:)``), held back rather than reported: after the first, no
    /// further action starts, and the pass is planned again under the grants as they are
    /// then. Nil when such failures are failures (the caller's own folder, or the pass
    /// planned again).
    let accessInDoubt: SyncCollector<[HeldFailure]>?
    let report: @Sendable (SyncEvent) -> Void

    /// A failure held back by ``accessInDoubt``.
    struct HeldFailure: Sendable {
        var path: String
        var error: any Error & Sendable
    }

    /// Why an action was not taken this pass.
    struct Deferred: Error {
        var reason: String
    }

    /// The deferral of an upload whose file is no longer a regular file at its path: deleted,
    /// or replaced by a folder, a link, a FIFO or a socket since the scan. That is a race with
    /// whoever changes the directory, not a misuse like `sluice upload DIR` (the uploader's
    /// usage error): the next pass sees what is there now.
    static let localFileGone = Deferred(reason: "the local file went away meanwhile")

    /// Whether `file` is a regular file (a symbolic link is not followed).
    static func isRegularFile(_ file: String) -> Bool { LocalStat.of(file)?.kind == S_IFREG }

    /// Attempts at an upload whose file keeps changing under it.
    static let uploadAttempts = 3

    var objects: Sluice_V1_ObjectServiceClient { Sluice_V1_ObjectServiceClient(client) }
    var callOptions: CallOptions { CallOptions(timeout: .seconds(60)) }
    /// For the calls that carry a file's bytes (PutObject, ReadObject): a stall ends them, not
    /// a deadline, since 4 MiB over a slow link, or for a principal whose byte rate is paced,
    /// may take minutes while it moves.
    var transferOptions: CallOptions { CallOptions(idleTimeout: .seconds(60)) }

    /// Runs one action; a failure is reported and counted, and returned for the exit code.
    func run(_ action: SyncAction) async -> (any Error & Sendable)? {
        if accessInDoubt?.current.isEmpty == false { return nil }
        return await reporting(action.path) { try await perform(action) }
    }

    /// Whether a failure in another's folder may come from the owner revoking or lowering the
    /// grant meanwhile: the name is no longer shared (NOT_FOUND), no longer writable
    /// (PERMISSION_DENIED), or the upload session the revoke aborted (FAILED_PRECONDITION).
    static func mayMeanAccessChanged(_ error: any Error) -> Bool {
        guard let error = error as? RPCError else { return false }
        return [.notFound, .permissionDenied, .failedPrecondition].contains(error.code)
    }

    /// Runs work on `path`; a failure is reported and counted, and returned for the exit code.
    func reporting(_ path: String, _ work: () async throws -> Void) async -> (any Error & Sendable)? {
        do {
            try await work()
            return nil
        } catch let deferred as Deferred {
            tally.add { $0.deferred += 1 }
            report(SyncEvent(kind: .deferred, path: path, detail: deferred.reason))
            return nil
        } catch let unreachable as LocalDirectory.Unreachable {
            // A link appeared among its parents since the scan: left alone, as the next scan will.
            tally.add { $0.skipped += 1 }
            report(SyncEvent(kind: .skip, path: path, detail: "\(unreachable)"))
            return nil
        } catch let error where accessInDoubt != nil && Self.mayMeanAccessChanged(error) {
            // Not this file's failure to report yet: the pass is planned again, which says
            // what became of the grant (or fails this file again, reported then).
            accessInDoubt?.add { $0.append(HeldFailure(path: path, error: error)) }
            return nil
        } catch {
            reportFailure(path, error)
            return error
        }
    }

    /// Reports and counts the failure of the action on `path`.
    func reportFailure(_ path: String, _ error: any Error) {
        tally.add { $0.failed += 1 }
        report(SyncEvent(kind: .failed, path: path, detail: "\(error)"))
    }

    private func perform(_ action: SyncAction) async throws {
        switch action {
        case .upload(let path, let local, let expected):
            try await upload(path, local: local, expected: expected)
        case .download(let path, let remote, let replacing):
            try await download(path, remote: remote, replacing: replacing)
        case .deleteRemote(let path, let expected):
            try await deleteRemote(path, expected: expected)
        case .deleteLocal(let path, let expected):
            try deleteLocal(path, expected: expected)
        case .conflict(let path, let local, let remote):
            try await conflict(path, local: local, remote: remote)
        case .record(let path, let synced):
            try await record(path, synced)
        case .forget(let path):
            try state.forget(path)
        }
    }

    func absolute(_ path: String) -> String { options.localRoot + "/" + path }

    func objectName(_ path: String) -> String { options.remotePrefix + path }

    /// The directory that holds `path` (relative), opened without following links; with
    /// `creating`, the missing ones are made.
    func directory(holding path: String, creating: Bool) throws -> LocalDirectory {
        try LocalDirectory.open(root: options.localRoot, relative: SyncNames.parent(of: path), creating: creating)
    }

    /// The directory that holds `path`, nil when a directory on the way is missing.
    func existingDirectory(holding path: String) throws -> LocalDirectory? {
        do {
            return try directory(holding: path, creating: false)
        } catch let error as LocalFileError where error.code == ENOENT {
            return nil
        }
    }

    /// Whether this device may upload `path` (not when the owner shares it for reading only).
    func uploads(_ path: String) -> Bool { access?.writes(objectName(path)) ?? true }

    // MARK: Remote checks

    /// The object's current version, nil when there is none.
    private func current(_ path: String) async throws -> RemoteFile? {
        var request = Sluice_V1_GetObjectRequest()
        request.owner = options.owner
        request.name = objectName(path)
        tally.add { $0.calls += 1 }
        do {
            let object = try await options.retry.run("lookup of \(request.name)") {
                try await objects.getObject(request, options: callOptions)
            }
            return RemoteFile(
                version: object.version, size: object.size, sha256: Hex.encode(object.sha256),
                partitionSize: object.partitionSize)
        } catch let error where FailureKind(error) == .notFound {
            return nil
        }
    }

    /// Defers unless the remote object is still the expected version.
    private func requireRemote(_ path: String, is expected: RemoteFile?) async throws {
        let now = try await current(path)
        guard now?.version == expected?.version, now?.sha256 == expected?.sha256 else {
            throw Deferred(reason: "the remote object changed meanwhile")
        }
    }

    // MARK: Upload

    func upload(_ path: String, local: LocalFileState, expected: RemoteFile?) async throws {
        if SyncNames.isMarker(path) {
            let version: Int64
            do {
                version = try await putEmptyMarker(path, replacing: expected)
            } catch let error as RPCError where error.code == .unimplemented {
                version = try await commitEmptyMarker(path)
            }
            try state.set(path, SyncedFile(local: .marker, sha256: SyncNames.emptySHA256, remoteVersion: version))
            tally.add { $0.uploaded += 1 }
            report(SyncEvent(kind: .upload, path: path, detail: "empty directory"))
            return
        }
        if Self.uploadsInOneCall(size: local.stat.size, expected: expected) {
            do {
                try await uploadInOneCall(path, expected: expected)
                return
            } catch let error as RPCError where error.code == .unimplemented {
                // An older sluiced without PutObject: through a session, like a large file.
            }
        }
        // A session upload is long: check first that it will not hide a version nobody saw.
        try await requireRemote(path, is: expected)
        let file = absolute(path)
        // What every attempt put on the wire, counted however the upload ends.
        var sent: Int64 = 0
        defer { tally.add { $0.bytesSent += sent } }
        var expected = expected
        for _ in 0..<Self.uploadAttempts {
            guard let now = LocalStat.of(file), now.kind == S_IFREG else { throw Self.localFileGone }
            let before = now.stat
            let partitionSize = try Self.partitionSize(matching: expected, size: before.size)
            var uploadOptions = UploadOptions(
                partitionSize: partitionSize, parallelism: 4, retry: options.retry, journal: options.journal)
            uploadOptions.owner = options.owner
            let summary: TransferSummary
            let wire = UploadWireCount()
            do {
                summary = try await Uploader(client: client, options: uploadOptions).upload(
                    file: file, to: objectName(path), progress: wire.observe)
            } catch {
                // However the attempt failed, what it sent went over the wire.
                sent += wire.bytes
                tally.add { $0.calls += wire.calls }
                if FailureKind(error) == .integrity && LocalStat.of(file)?.stat != before {
                    // The file changed while it was read: what was declared can no longer be sent.
                    report(SyncEvent(kind: .retrying, path: path, detail: "it changed while it was uploaded; sending it again"))
                    try await Task.sleep(for: .milliseconds(300))
                    continue
                }
                // It went away (or became something else) between the look above and the
                // uploader's open or read: the uploader's refusal or failed open is this race.
                if !Self.isRegularFile(file) { throw Self.localFileGone }
                if error is TransferInProgressError {
                    // `sluice upload` of the same file to the same name, running beside the sync.
                    throw Deferred(reason: "another upload of it is running; it is looked at again on the next pass")
                }
                throw error
            }
            sent += wire.bytes
            // Create, the partitions sent, commit; one PutObject when the uploader chose it.
            tally.add { $0.calls += summary.sessionID == nil ? 1 : 2 + summary.partitionsTransferred }
            // What was committed is what was hashed; remember it even if the file changed
            // since, so the next attempt (or pass) sees a local change, not a conflict.
            // A commit may answer before the whole-object hash is known (empty): the local
            // hash of what was planned stands in; if the file changed since, the next pass
            // hashes it again anyway.
            let committed = summary.sha256.isEmpty ? local.sha256 : summary.sha256
            try await recordUpload(
                path, SyncedFile(local: before, sha256: committed, remoteVersion: summary.version), replacing: expected)
            if LocalStat.of(file)?.stat == before {
                tally.add { $0.uploaded += 1 }
                report(SyncEvent(kind: .upload, path: path, bytes: sent))
                return
            }
            // The next attempt replaces this attempt's version, not another device's.
            expected = RemoteFile(
                version: summary.version, size: before.size, sha256: committed,
                partitionSize: partitionSize)
            report(SyncEvent(kind: .retrying, path: path, detail: "it changed after it was uploaded; sending it again"))
            try await Task.sleep(for: .milliseconds(300))
        }
        throw Deferred(reason: "the file kept changing while it was uploaded; it is sent again once it settles")
    }

    /// The partition size of the remote version when the new content fits it (see
    /// ``PartitionPlan/reusing(storedSize:storedPartitionSize:totalSize:)``); given explicitly,
    /// so the uploader need not look the object up again.
    static func partitionSize(matching remote: RemoteFile?, size: Int64) throws -> Int64 {
        if let remote,
           let plan = PartitionPlan.reusing(
               storedSize: remote.size, storedPartitionSize: remote.partitionSize, totalSize: size)
        {
            return plan.partitionSize
        }
        return try PartitionPlan.automatic(totalSize: size).partitionSize
    }

    /// Commits the zero-byte object that stands for an empty directory through a session
    /// (for an older sluiced without PutObject).
    private func commitEmptyMarker(_ path: String) async throws -> Int64 {
        let sessions = Sluice_V1_UploadSessionServiceClient(client)
        var request = Sluice_V1_CreateSessionRequest()
        request.objectName = objectName(path)
        request.totalSize = 0
        request.partitionSize = PartitionPlan.defaultPartitionSize
        request.objectSha256 = Data(SHA256.hash([]))
        request.contentType = SyncNames.markerContentType
        request.owner = options.owner
        request.requestID = UUID().uuidString
        tally.add { $0.calls += 2 }
        let session = try await options.retry.run("creation of \(request.objectName)") {
            try await sessions.createSession(request, options: callOptions)
        }
        return try await options.retry.run("commit of \(request.objectName)") {
            try await sessions.commitSession(.with { $0.sessionID = session.sessionID }, options: callOptions)
        }.object.version
    }

    // MARK: Download

    func download(_ path: String, remote: RemoteFile, replacing: LocalStat?) async throws {
        if SyncNames.isMarker(path) {
            // Made (or found) component by component, none of them a link.
            _ = try LocalDirectory.open(
                root: options.localRoot, relative: SyncNames.directory(ofMarker: path), creating: true)
            try state.set(path, SyncedFile(local: .marker, sha256: SyncNames.emptySHA256, remoteVersion: remote.version))
            tally.add { $0.downloaded += 1 }
            report(SyncEvent(kind: .download, path: path, detail: "empty directory"))
            return
        }
        if replacing == nil, try existingDirectory(holding: path)?.status(of: SyncNames.lastComponent(of: path))?.kind == S_IFDIR {
            try await keepFileBesideFolder(path, remote: remote)
            return
        }
        if Self.downloadsInOneCall(remote) {
            try await downloadInOneCall(path, remote: remote, replacing: replacing)
            return
        }
        let directory = try directory(holding: path, creating: true)
        let name = SyncNames.lastComponent(of: path)
        let temporary = SyncNames.downloadTemporary(for: name, marker: temporaryMarker)
        var downloadOptions = DownloadOptions(parallelism: 4, retry: options.retry)
        downloadOptions.owner = options.owner
        let summary: TransferSummary
        do {
            summary = try await directory.namingFiles {
                try await Downloader(client: client, options: downloadOptions).download(
                    objectName(path), version: remote.version, to: directory.path(of: temporary))
            }
        } catch let error where FailureKind(error) == .notFound {
            throw Deferred(reason: "the remote version went away meanwhile")
        }
        tally.add { $0.calls += 1 + summary.partitionsTransferred }
        try place(temporary, at: name, in: directory, replacing: replacing)
        state.renamed(in: directory.path)
        guard let placed = directory.status(of: name)?.stat else {
            throw Deferred(reason: "the downloaded file went away at once")
        }
        var sha256 = summary.sha256
        if sha256.isEmpty {
            // The download was verified partition by partition; the base needs a whole hash.
            sha256 = try await directory.namingFiles {
                let file = try LocalFile.openForReading(directory.path(of: name))
                let plan = try PartitionPlan.automatic(totalSize: placed.size)
                return Hex.encode(try await FileHashing.digests(of: file, plan: plan) { _ in }.object)
            }
        }
        try state.setDownloaded(path, SyncedFile(local: placed, sha256: sha256, remoteVersion: summary.version))
        tally.add {
            $0.downloaded += 1
            $0.bytesReceived += summary.bytesTransferred
        }
        report(SyncEvent(kind: .download, path: path, bytes: summary.bytesTransferred))
    }

    /// Renames a verified download onto its target (both names in `directory`), unless the
    /// target is no longer as the plan saw it (then the download is discarded and the action
    /// deferred): also when a folder (or anything else) took the name between the look and
    /// the rename, which then fails.
    func place(_ temporary: String, at target: String, in directory: LocalDirectory, replacing: LocalStat?) throws {
        let changed = Deferred(reason: "the local file changed meanwhile")
        guard directory.status(of: target)?.stat == replacing else {
            try? directory.removeFile(temporary)
            throw changed
        }
        do {
            try directory.rename(temporary, to: target)
        } catch {
            try? directory.removeFile(temporary)
            throw directory.status(of: target)?.stat == replacing ? error : changed
        }
    }

    // MARK: Deletions

    func deleteRemote(_ path: String, expected: RemoteFile) async throws {
        // The look first still guards against a server that predates if_current_version
        // (and ignores it); the condition below is what closes the gap after the look.
        try await requireRemote(path, is: expected)
        var request = Sluice_V1_DeleteObjectRequest()
        request.owner = options.owner
        request.name = objectName(path)
        // Kept versions keep the promise that a file deleted by sync can be restored.
        request.keepVersions = true
        // Only the version planned against: one another device committed since is news,
        // which the next pass brings down (an edit beats a deletion), never deleted unseen.
        request.ifCurrentVersion = expected.version
        tally.add { $0.calls += 1 }
        do {
            _ = try await objects.deleteObject(request, options: callOptions)
        } catch let error as RPCError where error.code == .failedPrecondition {
            throw Deferred(reason: "the remote object changed meanwhile (\(error.message))")
        } catch let error where FailureKind(error) == .notFound {
            // Already gone: what was wanted.
        }
        try state.forget(path)
        tally.add { $0.deletedRemote += 1 }
        report(SyncEvent(kind: .deleteRemote, path: path))
    }

    private func deleteLocal(_ path: String, expected: LocalStat) throws {
        if SyncNames.isMarker(path) {
            // The directory goes only if it is still empty; files in it keep it.
            let emptied = SyncNames.directory(ofMarker: path)
            try existingDirectory(holding: emptied)?.removeDirectory(SyncNames.lastComponent(of: emptied))
        } else {
            let name = SyncNames.lastComponent(of: path)
            guard let directory = try existingDirectory(holding: path), directory.status(of: name)?.stat == expected
            else {
                throw Deferred(reason: "the local file changed meanwhile")
            }
            try directory.removeFile(name)
        }
        try state.forget(path)
        removeEmptyParents(of: SyncNames.isMarker(path) ? SyncNames.directory(ofMarker: path) : path)
        tally.add { $0.deletedLocal += 1 }
        report(SyncEvent(kind: .deleteLocal, path: path))
    }

    /// Removes directories a deletion left empty, unless the remote side keeps them.
    private func removeEmptyParents(of path: String) {
        var emptied = SyncNames.parent(of: path)
        while !emptied.isEmpty, !remoteDirectories.contains(PathKey(emptied)),
            (try? existingDirectory(holding: emptied)?.removeDirectory(SyncNames.lastComponent(of: emptied))) == true
        {
            emptied = SyncNames.parent(of: emptied)
        }
    }
}
