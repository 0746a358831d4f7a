import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC

/// Conflicts: nothing is lost when both sides changed a file, or when another device's commit
/// was overtaken by this device's upload.
extension SyncExecutor {
    /// Both sides changed the file: this device's version moves aside under a conflict name
    /// and is uploaded under it; the remote version takes the name. In a folder shared for
    /// reading only the copy stays on this device (noted as kept, so it is not reported again).
    func conflict(_ path: String, local: LocalFileState, remote: RemoteFile) async throws {
        let directory = try directory(holding: path, creating: false)
        guard directory.status(of: SyncNames.lastComponent(of: path))?.stat == local.stat else {
            throw Deferred(reason: "the local file changed meanwhile")
        }
        let copy = try freeConflictName(for: path, device: options.device, in: directory)
        try directory.rename(SyncNames.lastComponent(of: path), to: SyncNames.lastComponent(of: copy))
        tally.add { $0.conflicts += 1 }
        let uploaded = uploads(copy)
        report(SyncEvent(
            kind: .conflict, path: path,
            detail: "changed on both sides; this device's version is kept as '\(copy)'"
                + (uploaded ? "" : " on this device only (shared with you for reading only)")
                + ", the other keeps the name"))
        if uploaded {
            try await upload(copy, local: local, expected: nil)
        } else if let moved = LocalStat.of(absolute(copy))?.stat {
            try state.update { $0.keptLocally = ($0.keptLocally ?? [:]).merging([PathKey(copy): moved]) { $1 } }
        }
        try await download(path, remote: remote, replacing: nil)
    }

    /// How many numbered conflict names are tried for one copy.
    private static let conflictNamesTried = 1000

    /// The first conflict name for `path` (relative) that nothing in its `directory` holds:
    /// a copy must never be dropped, nor a conflict put off, because an earlier copy took the
    /// name (names tell the second only, and the copies of one principal's overtaken versions
    /// all name the principal).
    private func freeConflictName(for path: String, device: String, in directory: LocalDirectory) throws -> String {
        let now = Date()
        for number in 1...Self.conflictNamesTried {
            let copy = SyncNames.conflictName(for: path, device: device, at: now, number: number)
            if directory.status(of: SyncNames.lastComponent(of: copy)) == nil { return copy }
        }
        throw LocalFileError(
            path: absolute(path), operation: "keep a conflict copy of", code: EEXIST,
            detail: "\(Self.conflictNamesTried) conflict copies of this second exist already")
    }

    /// Records an upload's result. When versions lie between the one it was planned to
    /// replace and the one it made, the check for one it overtook is saved with the record
    /// (see ``PendingConflictCheck``) and carried out.
    func recordUpload(_ path: String, _ synced: SyncedFile, replacing expected: RemoteFile?) async throws {
        try state.noteUploaded(path)
        try await record(path, synced, planned: PlannedReplacement(replacing: expected, listingCursor: listingCursor))
    }

    /// Records a path both sides hold alike. When it holds what a put of an earlier run
    /// (killed before it recorded it) sent, the version may be that put's: what it overtook
    /// is checked as if this run had made it.
    func record(_ path: String, _ synced: SyncedFile) async throws {
        guard let kept = state.state.pendingPuts?[PathKey(path)], kept.sha256 == synced.sha256 else {
            try state.set(path, synced)
            return
        }
        try await record(path, synced, planned: kept.planned)
    }

    private func record(_ path: String, _ synced: SyncedFile, planned: PlannedReplacement) async throws {
        let check = PendingConflictCheck(path: path, made: synced.remoteVersion, ours: synced.sha256, planned: planned)
        guard !check.between.isEmpty else {
            try state.set(path, synced)
            return
        }
        try state.set(path, synced, pending: check)
        try await finish(check)
    }

    /// Finishes the conflict checks a killed (or failed) earlier run left in the state; each
    /// failure is reported and counted, and the first returned (the check stays for the next
    /// pass).
    func finishLeftConflictChecks() async -> (any Error & Sendable)? {
        var firstFailure: (any Error & Sendable)?
        for check in state.state.pendingConflictChecks ?? [] {
            if let failure = await reporting(check.path, { try await finish(check) }) {
                firstFailure = firstFailure ?? failure
            }
        }
        return firstFailure
    }

    /// Keeps the newest version of `between` committed since the listing (another device's,
    /// which the upload now hides) as a conflict copy, then removes the check. Versions from
    /// before the listing were not current then (deleted with their versions kept): no
    /// conflict.
    private func finish(_ check: PendingConflictCheck) async throws {
        if let version = try await newestCommittedSinceListing(
            check.path, among: check.between, listingCursor: check.planned.listingCursor)
        {
            try await keepOvertaken(check.path, version: version, ours: check.ours, expected: check.planned.sha256)
        }
        try state.finished(check)
    }

    /// Pages of the change feed read to find what was committed to one object since the
    /// listing; past that (a very busy prefix) the newest candidate is assumed overtaken.
    private static let changePagesRead = 10

    /// The newest of `versions` of the object that the change feed shows committed after the
    /// listing; when the feed cannot tell (no cursor, or one too old), the newest of them, so
    /// that in doubt a version is kept rather than hidden.
    private func newestCommittedSinceListing(_ path: String, among versions: Range<Int64>, listingCursor: String)
        async throws -> Int64?
    {
        let assumed = versions.upperBound - 1
        guard !listingCursor.isEmpty else { return assumed }
        let changes = Sluice_V1_ChangeServiceClient(client)
        var request = Sluice_V1_ListChangesRequest()
        request.cursor = listingCursor
        request.owner = options.owner
        request.prefix = objectName(path)
        request.pageSize = 1000
        var newest: Int64?
        for _ in 0..<Self.changePagesRead {
            tally.add { $0.calls += 1 }
            let page: Sluice_V1_ListChangesResponse
            do {
                page = try await options.retry.run("changes of \(request.prefix)") {
                    try await changes.listChanges(request, options: callOptions)
                }
            } catch let error as RPCError where error.code == .outOfRange {
                return assumed
            }
            for change in page.changes
            where change.kind == .versionCreated && versions.contains(change.version)
                && Array(change.name.utf8) == Array(request.prefix.utf8)
            {
                newest = max(newest ?? change.version, change.version)
            }
            // Versions are committed in order, and the feed lists commits in order: once
            // this upload's own version (or the present) is reached, nothing older follows.
            let reachedOwn = page.changes.contains {
                $0.kind == .versionCreated && $0.version == versions.upperBound
                    && Array($0.name.utf8) == Array(request.prefix.utf8)
            }
            if reachedOwn || page.caughtUp { return newest }
            request.cursor = page.nextCursor
        }
        return newest ?? assumed
    }

    /// Another device committed a version after the listing this upload was planned from and
    /// before its commit, so the upload hid it: that version is kept as a conflict copy beside the file (downloaded
    /// here; the next pass uploads it like any new file), unless it holds the same bytes as
    /// this upload or as what was expected.
    private func keepOvertaken(_ path: String, version: Int64, ours: String, expected: String?) async throws {
        var request = Sluice_V1_GetObjectRequest()
        request.owner = options.owner
        request.name = objectName(path)
        request.version = version
        tally.add { $0.calls += 1 }
        let object: Sluice_V1_ObjectInfo
        do {
            object = try await options.retry.run("lookup of \(request.name) v\(version)") {
                try await objects.getObject(request, options: callOptions)
            }
        } catch let error where FailureKind(error) == .notFound {
            return
        }
        let theirs = Hex.encode(object.sha256)
        guard theirs != ours, theirs != expected else { return }
        let device = object.writtenBy.isEmpty ? "another device" : object.writtenBy
        let copy = try await keepCopy(of: path, version: version, namedFor: device)
        report(SyncEvent(
            kind: .conflict, path: path,
            detail: "version \(version) was committed meanwhile by \(device); it is kept as '\(copy)'"))
    }

    /// The remote file is a folder here (one device replaced the file with a folder while
    /// another changed the file, or the reverse): the folder keeps the name and the file is
    /// kept beside it as a conflict copy (the next pass uploads it like any new file), then
    /// deleted remotely under the name (its versions kept), so that both devices converge on
    /// the folder and the copy; nothing is lost. In a folder shared for reading only nothing
    /// can be deleted remotely: the path is skipped with a note instead.
    func keepFileBesideFolder(_ path: String, remote: RemoteFile) async throws {
        guard uploads(path) else {
            tally.add { $0.skipped += 1 }
            report(SyncEvent(
                kind: .skip, path: path,
                detail: "a file on the other side and a folder here, in a folder shared with you for reading only"))
            return
        }
        let copy = try await keepCopy(of: path, version: remote.version, namedFor: options.device)
        report(SyncEvent(
            kind: .conflict, path: path,
            detail: "a file on the other side and a folder here; the file is kept as '\(copy)', the folder keeps the name"))
        try await deleteRemote(path, expected: remote)
    }

    /// Downloads version `version` of `path` to a free conflict name beside it, named for
    /// `device`, counted as a conflict; returns the copy's path (relative).
    private func keepCopy(of path: String, version: Int64, namedFor device: String) async throws -> String {
        // Made again if it went away meanwhile (or before a later run finished a check).
        let directory = try directory(holding: path, creating: true)
        let copy = try freeConflictName(for: path, device: device, in: directory)
        let copyName = SyncNames.lastComponent(of: copy)
        var downloadOptions = DownloadOptions(parallelism: 4, retry: options.retry)
        downloadOptions.owner = options.owner
        let temporary = SyncNames.downloadTemporary(for: copyName, marker: temporaryMarker)
        let summary = try await directory.namingFiles {
            try await Downloader(client: client, options: downloadOptions).download(
                objectName(path), version: version, to: directory.path(of: temporary))
        }
        // Not onto whatever took the free name during the download: deferred instead.
        try place(temporary, at: copyName, in: directory, replacing: nil)
        tally.add {
            $0.conflicts += 1
            $0.bytesReceived += summary.bytesTransferred
        }
        return copy
    }
}
