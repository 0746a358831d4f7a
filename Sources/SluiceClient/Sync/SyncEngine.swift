import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC
import Synchronization

/// One sync: a local directory kept in step with a remote prefix. Each `pass` scans the
/// directory (hashing only files whose size, modification or change time or inode differ
/// from the state file), lists the prefix once, plans with `SyncPlanner`, checks the plan
/// (against the grants of a shared folder, `SharedAccess`; against emptying a side,
/// `EmptiedSideGuard`) and carries the actions out (`SyncExecutor`): first the conflict
/// checks a killed run left, then deletions, then transfers, `parallelism` at a time (small
/// files, one call each, `smallParallelism` at a time beside them; the request ids of their
/// PutObjects saved in one write before any is sent).
public final class SyncEngine: Sendable {
    private let client: RPCClient
    public let options: SyncOptions
    private let state: SyncStateBox
    private let report: @Sendable (SyncEvent) -> Void
    /// The directories the last scan found (relative; "" is the root), for watching.
    private let scannedDirectories = Mutex<Set<PathKey>>([""])
    /// Whether the last pass left deletions undone because it was asked to hold them.
    private let heldDeletions = Mutex(false)

    /// - Throws: ``UnusableSyncStateError`` when the state file exists but cannot be used.
    public init(client: RPCClient, options: SyncOptions, report: @escaping @Sendable (SyncEvent) -> Void) throws {
        self.client = client
        self.options = options
        self.report = report
        let fresh = SyncState(
            server: client.transport.authority, owner: options.owner, remotePrefix: options.remotePrefix,
            localRoot: options.localRoot)
        self.state = SyncStateBox(try options.stateFile.load(fresh: fresh), file: options.stateFile)
    }

    /// The change-feed cursor the state file holds ("" if none).
    public var cursor: String { state.state.cursor }

    /// Remembers how far the change feed was read (written with the rest of the state, at
    /// most every second: a restart may see a few changes again, which only wakes a pass).
    public func saveCursor(_ cursor: String) throws {
        try state.update { $0.cursor = cursor }
    }

    public var directories: [String] { scannedDirectories.withLock { $0.map(\.string) } }

    /// Whether the last pass held deletions back (`holdingDeletions`): a pass that may delete
    /// should follow once the directory and the remote prefix are quiet.
    public var deletionsWaiting: Bool { heldDeletions.withLock { $0 } }

    /// One reconciliation, of everything or of a scope (the paths a watch saw change: only
    /// they are scanned and listed; the state of the rest stands). Failures of single files
    /// are reported, counted and the first is returned; the pass goes on with the others.
    ///
    /// `holdingDeletions` leaves the plan's deletions undone (``deletionsWaiting`` says so): a
    /// watch asks for it while changes are still arriving, since a side being emptied (a
    /// mistaken `rm`, a loop of `sluice rm`) would otherwise go out a round at a time, each
    /// round too small for ``EmptiedSideGuard`` to see, until the other side is empty too.
    public func pass(_ scope: SyncScope = .everything, holdingDeletions: Bool = false) async throws
        -> (summary: SyncSummary, firstFailure: (any Error & Sendable)?)
    {
        let started = ContinuousClock.now
        let tally = SyncTally()
        heldDeletions.withLock { $0 = false }
        let first = try await reconcile(scope, tally: tally, holdingDeletions: holdingDeletions)
        var firstFailure = first.firstFailure
        // A `.sluiceignore` that came down in this pass (or changed meanwhile) would have made
        // another plan: plan again under it, over everything, so that one run applies it.
        if !options.dryRun, ignoreText() != first.rulesText {
            let again = try await reconcile(.everything, tally: tally, holdingDeletions: holdingDeletions)
            firstFailure = firstFailure ?? again.firstFailure
        }
        tally.add { $0.elapsed = ContinuousClock.now - started }
        var event = SyncEvent(kind: .summary, path: "", dryRun: options.dryRun)
        event.summary = tally.value
        report(event)
        return (tally.value, firstFailure)
    }

    /// The text of the ignore rules at the top of the directory ("" when there are none).
    private func ignoreText() -> String {
        (try? String(contentsOfFile: options.localRoot + "/" + SyncNames.ignoreFile, encoding: .utf8)) ?? ""
    }

    /// Scans, lists, plans and carries the plan out (a dry run only reports it), counting into
    /// `tally`; returns the ignore rules' text the plan followed and the first failure.
    ///
    /// In another's folder, a failure that may mean the owner changed the grant meanwhile stops
    /// the pass, which is then planned again, once (with `doubt` set), from a fresh listing
    /// under the grants as they are now: a revoked grant stops the sync with one message, as it
    /// does between passes, and a lowered one leaves this device's changes here, rather than
    /// every remaining file failing on its own. Grants found as they were show the held
    /// failures to be the files' own: they are reported, and those files left for the next
    /// pass, as in one's own folder (an upload session the user aborted, say).
    private func reconcile(
        _ scope: SyncScope, tally: SyncTally, holdingDeletions: Bool, doubt: AccessDoubt? = nil
    ) async throws -> (rulesText: String, firstFailure: (any Error & Sendable)?) {
        let root = options.localRoot
        let rulesText = ignoreText()
        let rules = IgnoreRules(text: rulesText)
        let prefix = options.remotePrefix
        let scoped: ScopedPaths? = if case .paths(let paths) = scope { ScopedPaths(paths) } else { nil }
        let marker = state.state.temporaryMarker
        let scan: LocalScan
        let remote: RemoteListing
        let base: [PathKey: SyncedFile]
        var remoteDirectories: Set<PathKey>
        if let scoped {
            scan = try await BlockingWork.run { _ in
                try LocalScan.scan(root: root, within: scoped, rules: rules, remotePrefix: prefix, temporaryMarker: marker)
            }
            scannedDirectories.withLock { $0.formUnion(scan.directories.map { PathKey($0) }) }
            let all = state.state.files
            base = all.filter { scoped.contains($0.key) }
            remote = try await listRemote(within: scoped, base: base, rules: rules, tally: tally)
            // Outside the scope, what the remote holds is taken from the state.
            remoteDirectories = Self.directories(of: remote.files.keys)
            remoteDirectories.formUnion(Self.directories(of: all.keys.lazy.filter { !scoped.contains($0) }))
        } else {
            scan = try await BlockingWork.run { _ in
                try LocalScan.scan(root: root, rules: rules, remotePrefix: prefix, temporaryMarker: marker)
            }
            scannedDirectories.withLock { $0 = Set(scan.directories.map { PathKey($0) }) }
            remote = try await listRemote(rules: rules, tally: tally)
            base = state.state.files
            remoteDirectories = Self.directories(of: remote.files.keys)
        }
        tally.add { $0.scanned = scan.files.count }
        var local = try await hashLocal(scan.files, base: base)
        var skipped = scan.skipped + remote.skipped + local.skipped
        // So is everything under a skipped path: a remote file under a local link to a
        // directory would be written through the link, outside the root, and then, unseen by
        // the scan, deleted remotely.
        let skippedPaths = Set(skipped.map { PathKey($0.path) })
        var remoteFiles = remote.files
        for path in remote.files.keys where !skippedPaths.contains(path) {
            if let above = SyncNames.ancestor(of: path.string, in: skippedPaths) {
                skipped.append(SkipNote(path: path.string, reason: "it is inside '\(above)', which is skipped"))
                remoteFiles[path] = nil
            }
        }
        // A path skipped on one side is left alone on both: never delete what cannot be seen.
        var baseFiles = base.filter { SyncNames.ancestor(of: $0.key.string, in: skippedPaths) == nil }
        for path in skippedPaths {
            local.files[path] = nil
            remoteFiles[path] = nil
            baseFiles[path] = nil
        }
        for path in baseFiles.keys where rules.excludes(path.string, isDirectory: false) { baseFiles[path] = nil }
        let same = try await compareWithoutWholeHash(local.files, remoteFiles, tally: tally)
        var actions = SyncPlanner.plan(local: local.files, remote: remoteFiles, base: baseFiles, sameContent: same)
        var access: SharedAccess?
        var keptLocally: [PathKey: LocalFileState] = [:]
        if !options.owner.isEmpty {
            // Read after the listing: a grant revoked in between shows here, not as deletions.
            let shared = try await SharedAccess.load(owner: options.owner, client: client, retry: options.retry, tally: tally)
            try shared.requireStillShared(actions, owner: options.owner, prefix: prefix)
            (actions, keptLocally) = shared.readOnlyPlan(actions, prefix: prefix)
            access = shared
        }
        let heldFailures = doubt.map { $0.access == access ? $0.failures : [] } ?? []
        let failedPaths = Set(heldFailures.map { PathKey($0.path) })
        actions.removeAll { failedPaths.contains(PathKey($0.path)) }
        if holdingDeletions, actions.contains(where: \.isDeletion) {
            actions.removeAll(where: \.isDeletion)
            heldDeletions.withLock { $0 = true }
            if state.state.deletionHold == nil {
                try state.update { $0.deletionHold = DeletionHold(synced: Set($0.files.keys)) }
            }
        }
        if scoped == nil, !options.allowDeleteAll {
            try EmptiedSideGuard.check(
                actions, base: baseFiles, local: local.files, remote: remoteFiles, prefix: prefix, localRoot: root,
                hold: state.state.deletionHold)
        }
        // A pass that may delete, and did not stop, ends the hold.
        if scoped == nil, !holdingDeletions, state.state.deletionHold != nil { try state.update { $0.deletionHold = nil } }
        // Ignore rules that come from the other side change what the rest of the plan should
        // be: they come down alone first, and `pass` plans again under them.
        let rulesFirst = !options.dryRun && actions.contains(where: Self.downloadsIgnoreRules)
        if rulesFirst {
            actions = actions.filter(Self.downloadsIgnoreRules)
            skipped = []
            keptLocally = [:]
        }
        skipped.sort { PathKey($0.path) < PathKey($1.path) }
        for note in skipped {
            report(SyncEvent(
                kind: .skip, path: note.path, detail: note.reason, dryRun: options.dryRun, pathIsEscaped: note.pathIsEscaped))
        }
        tally.add { $0.skipped = skipped.count }
        try noteKeptLocally(keptLocally, inScope: { path in scoped?.contains(path) ?? true }, tally: tally)

        var firstFailure: (any Error & Sendable)?
        if options.dryRun {
            for action in actions where action.changesFiles { reportPlanned(action, tally: tally) }
        } else {
            // Saved before any temporary file bears it, so that a killed run's leftovers are known.
            let temporaryMarker = marker ?? SyncNames.newTemporaryMarker()
            if marker == nil { try state.persist { $0.temporaryMarker = temporaryMarker } }
            if scoped == nil, !rulesFirst {
                removeStaleDownloadTemporaries(scan.downloadTemporaries, marker: temporaryMarker, actions: actions)
            }
            if state.state.cursor.isEmpty, !remote.cursor.isEmpty {
                try state.update { $0.cursor = remote.cursor }
            }
            let inDoubt = access != nil && doubt == nil ? SyncCollector<[SyncExecutor.HeldFailure]>([]) : nil
            let executor = SyncExecutor(
                client: client, options: options, state: state, tally: tally,
                remoteDirectories: remoteDirectories, listingCursor: remote.cursor, access: access,
                temporaryMarker: temporaryMarker, accessInDoubt: inDoubt, report: report)
            for held in heldFailures { executor.reportFailure(held.path, held.error) }
            firstFailure = heldFailures.first?.error
            let deletions = actions.filter(\.isDeletion)
            let rest = actions.filter { !$0.isDeletion }
            let reserved = PendingPut.reserved(
                for: rest, keeping: state.state.pendingPuts ?? [:], listingCursor: remote.cursor)
            if reserved != state.state.pendingPuts ?? [:] {
                try state.persist { $0.pendingPuts = reserved }
            }
            let leftConflictFailure = await executor.finishLeftConflictChecks()
            firstFailure = firstFailure ?? leftConflictFailure
            for phase in [deletions, rest] {
                let failure = try await run(phase, with: executor)
                firstFailure = firstFailure ?? failure
            }
            try state.flush()
            if let access, let held = inDoubt?.current, !held.isEmpty {
                let again = try await reconcile(
                    scope, tally: tally, holdingDeletions: holdingDeletions,
                    doubt: AccessDoubt(access: access, failures: held))
                return (again.rulesText, firstFailure ?? again.firstFailure)
            }
        }
        return (rulesText, firstFailure)
    }

    /// The grants a pass was planned under and the failures it held back because they may
    /// have meant those grants changed.
    private struct AccessDoubt {
        var access: SharedAccess
        var failures: [SyncExecutor.HeldFailure]
    }

    private static func downloadsIgnoreRules(_ action: SyncAction) -> Bool {
        if case .download(let path, _, _) = action { return path == SyncNames.ignoreFile }
        return false
    }

    /// Removes the temporary files of downloads that failed or were cut short in an earlier
    /// run, unless this pass downloads the same path again (a large download then resumes
    /// from its partial file). Without this, a download that failed once (or whose path went
    /// away since) would leave its temporary files in the synced folder for good.
    private func removeStaleDownloadTemporaries(_ temporaries: [String], marker: String, actions: [SyncAction]) {
        let downloading = Set(actions.compactMap { action -> PathKey? in
            switch action {
            case .download(let path, _, _), .conflict(let path, _, _): PathKey(SyncNames.downloadTemporary(for: path, marker: marker))
            default: nil
            }
        })
        for temporary in temporaries {
            guard let owner = SyncNames.downloadTemporary(ofLeftover: temporary, marker: marker), !downloading.contains(PathKey(owner))
            else { continue }
            unlink(options.localRoot + "/" + temporary)
        }
    }

    /// Reports each local change kept on this device because the folder is shared for reading
    /// only, once: again only when the file changes again (the state remembers what was said),
    /// so a read-only folder with local edits does not nag, or fail, on every pass.
    private func noteKeptLocally(
        _ kept: [PathKey: LocalFileState], inScope: (PathKey) -> Bool, tally: SyncTally
    ) throws {
        let reported = state.state.keptLocally ?? [:]
        for (path, local) in kept.sorted(by: { $0.key < $1.key }) where reported[path] != local.stat {
            report(SyncEvent(
                kind: .skip, path: path.string,
                detail: "shared with you for reading only: this device's change stays here and is not uploaded",
                dryRun: options.dryRun))
            tally.add { $0.skipped += 1 }
        }
        guard !options.dryRun else { return }
        var remembered = reported.filter { !inScope($0.key) }
        for (path, local) in kept { remembered[path] = local.stat }
        guard remembered != reported else { return }
        try state.update { $0.keptLocally = remembered.isEmpty ? nil : remembered }
    }

    /// Runs a phase's actions: small ones (one call each) `smallParallelism` at a time
    /// beside the others, `parallelism` at a time, so that the round trips of many small
    /// files overlap while large transfers keep their own bound. Returns the first failure.
    private func run(_ actions: [SyncAction], with executor: SyncExecutor) async throws -> (any Error & Sendable)? {
        let failures = SyncCollector<[any Error & Sendable]>([])
        let small = actions.filter(SyncExecutor.isSmall)
        let large = actions.filter { !SyncExecutor.isSmall($0) }
        async let smallDone: Void = BoundedConcurrency.forEach(small, limit: options.smallParallelism) { action in
            if let error = await executor.run(action) { failures.add { $0.append(error) } }
        }
        try await BoundedConcurrency.forEach(large, limit: options.parallelism) { action in
            if let error = await executor.run(action) { failures.add { $0.append(error) } }
        }
        try await smallDone
        return failures.current.first
    }

    private func reportPlanned(_ action: SyncAction, tally: SyncTally) {
        let kind: SyncEvent.Kind
        switch action {
        case .upload: kind = .upload; tally.add { $0.uploaded += 1 }
        case .download: kind = .download; tally.add { $0.downloaded += 1 }
        case .deleteRemote: kind = .deleteRemote; tally.add { $0.deletedRemote += 1 }
        case .deleteLocal: kind = .deleteLocal; tally.add { $0.deletedLocal += 1 }
        case .conflict: kind = .conflict; tally.add { $0.conflicts += 1 }
        case .record, .forget: return
        }
        report(SyncEvent(kind: kind, path: action.path, dryRun: true))
    }

    /// Every directory that holds a remote path (its ancestors), relative.
    static func directories(of paths: some Sequence<PathKey>) -> Set<PathKey> {
        var directories = Set<PathKey>()
        for path in paths {
            var directory = SyncNames.parent(of: path.string)
            while !directory.isEmpty, directories.insert(PathKey(directory)).inserted {
                directory = SyncNames.parent(of: directory)
            }
        }
        return directories
    }

    // MARK: Remote listing

    private struct RemoteListing {
        var files: [PathKey: RemoteFile] = [:]
        var skipped: [SkipNote] = []
        var cursor = ""
    }

    /// Every object under the prefix, page after page (one call per 1,000 objects).
    private func listRemote(rules: IgnoreRules, tally: SyncTally) async throws -> RemoteListing {
        var listing = RemoteListing()
        try await list("", into: &listing, keeping: { _ in true }, rules: rules, tally: tally)
        return checkedForNesting(listing)
    }

    /// The objects in a scope: one listing under each root. A parent's marker is taken
    /// from the state (`base`): should the remote differ, the deletion of a marker checks
    /// first and a marker put makes the same empty object; the next full pass sees the truth.
    private func listRemote(
        within scope: ScopedPaths, base: [PathKey: SyncedFile], rules: IgnoreRules, tally: SyncTally
    ) async throws -> RemoteListing {
        var listing = RemoteListing()
        for root in scope.roots.sorted() {
            try await list(root.string, into: &listing, keeping: scope.contains, rules: rules, tally: tally)
        }
        for marker in scope.parentMarkers where listing.files[marker] == nil {
            guard let synced = base[marker] else { continue }
            listing.files[marker] = RemoteFile(
                version: synced.remoteVersion, size: 0, sha256: synced.sha256,
                partitionSize: PartitionPlan.defaultPartitionSize)
        }
        return checkedForNesting(listing)
    }

    /// Adds the objects whose relative paths start with `start` (and pass `keeping`) to the
    /// listing; the listing's cursor is its first page's.
    private func list(
        _ start: String, into listing: inout RemoteListing, keeping: (PathKey) -> Bool, rules: IgnoreRules,
        tally: SyncTally
    ) async throws {
        let objects = Sluice_V1_ObjectServiceClient(client)
        var request = Sluice_V1_ListObjectsRequest()
        request.owner = options.owner
        request.prefix = options.remotePrefix + start
        request.pageSize = 1000
        let prefixLength = options.remotePrefix.utf8.count
        try await PageTokens.walk("listing of '\(request.prefix)'", retry: options.retry) { token in
            request.pageToken = token
            return try await objects.listObjects(request, options: CallOptions(timeout: .seconds(60)))
        } each: { page in
            tally.add { $0.calls += 1 }
            if listing.cursor.isEmpty { listing.cursor = page.changeCursor }
            for object in page.objects {
                let path = String(decoding: Array(object.name.utf8).dropFirst(prefixLength), as: UTF8.self)
                guard keeping(PathKey(path)) else { continue }
                if let problem = SyncNames.problem(withRemotePath: path) {
                    listing.skipped.append(SkipNote(path: path, reason: "remote name cannot be a local file: \(problem)"))
                    continue
                }
                if rules.excludes(path, isDirectory: false) { continue }
                listing.files[PathKey(path)] = RemoteFile(
                    version: object.version, size: object.size, sha256: Hex.encode(object.sha256),
                    partitionSize: object.partitionSize)
            }
            return (page.nextPageToken, page.objects.count)
        }
    }

    /// The listing with every name inside another that is a file skipped.
    private func checkedForNesting(_ listing: RemoteListing) -> RemoteListing {
        var listing = listing
        // A name inside another that is a file ("a" and "a/b") cannot both be local.
        for path in listing.files.keys {
            var directory = SyncNames.parent(of: path.string)
            while !directory.isEmpty {
                if listing.files[PathKey(directory)] != nil {
                    listing.skipped.append(SkipNote(path: path.string, reason: "remote name is inside '\(directory)', which is a file"))
                    break
                }
                directory = SyncNames.parent(of: directory)
            }
        }
        return listing
    }

    // MARK: Local hashing

    private struct LocalHashes: Sendable {
        var files: [PathKey: LocalFileState] = [:]
        var skipped: [SkipNote] = []
    }

    /// The SHA-256 of every local file: the state file's when its stat is unchanged, else
    /// hashed now. A file that went away since the scan is left out (it is gone); one whose
    /// size stat does not report (``UnsizedFile``) is skipped with a note.
    private func hashLocal(_ files: [PathKey: LocalStat], base: [PathKey: SyncedFile]) async throws -> LocalHashes {
        let result = SyncCollector(LocalHashes())
        var toHash: [(PathKey, LocalStat)] = []
        for (path, stat) in files {
            if SyncNames.isMarker(path.string) {
                result.add { $0.files[path] = LocalFileState(stat: stat, sha256: SyncNames.emptySHA256) }
            } else if let synced = base[path], synced.local == stat {
                result.add { $0.files[path] = LocalFileState(stat: stat, sha256: synced.sha256) }
            } else {
                toHash.append((path, stat))
            }
        }
        let root = options.localRoot
        try await BoundedConcurrency.forEach(toHash, limit: options.parallelism) { item in
            let (path, stat) = item
            do {
                let file = try LocalFile.openForReading(root + "/" + path.string)
                let status = try file.status()
                if try UnsizedFile.claimsEmpty(file, status) {
                    result.add { $0.skipped.append(Self.unsized(path)) }
                    return
                }
                let plan = try PartitionPlan.automatic(totalSize: status.size)
                let digests: FileDigests
                do {
                    digests = try await FileHashing.digests(of: file, plan: plan) { _ in }
                } catch let error as FileChangedError {
                    guard try UnsizedFile.explainsShortRead(of: file, status) else { throw error }
                    result.add { $0.skipped.append(Self.unsized(path)) }
                    return
                }
                // The stat as hashed: if the file changes later, the next pass sees it. The
                // change time is the scan's: if the file changed since, it is older than the
                // file's, so the next pass hashes again rather than trust this hash.
                let hashed = LocalStat(
                    size: status.size, modificationTime: status.modificationTime, inode: stat.inode,
                    changeTime: stat.changeTime)
                result.add { $0.files[path] = LocalFileState(stat: hashed, sha256: Hex.encode(digests.object)) }
            } catch let error as LocalFileError where error.code == ENOENT {
                return
            } catch is FileChangedError {
                result.add { $0.skipped.append(SkipNote(path: path.string, reason: "it changed while it was hashed; next pass")) }
            } catch let error as LocalFileError {
                result.add { $0.skipped.append(SkipNote(path: path.string, reason: "\(error)")) }
            }
        }
        return result.current
    }

    /// The note of a file whose size stat does not report: it is not synced (not even as an
    /// empty object), and the rest of the pass goes on.
    private static func unsized(_ path: PathKey) -> SkipNote {
        SkipNote(
            path: path.string,
            reason: "it \(UnsizedFile.reason); copy it to a regular file (cat FILE > COPY) to sync what it holds")
    }

    /// For paths on both sides whose remote SHA-256 is not known (yet), whether the local
    /// file's partition hashes at the remote's partition size equal the remote partitions'.
    private func compareWithoutWholeHash(
        _ local: [PathKey: LocalFileState], _ remote: [PathKey: RemoteFile], tally: SyncTally
    ) async throws -> [PathKey: Bool] {
        let candidates = remote.filter { $0.value.sha256.isEmpty && local[$0.key] != nil }.map(\.key)
        guard !candidates.isEmpty else { return [:] }
        let catalog = ObjectCatalog(client: client, retry: options.retry, owner: options.owner)
        let result = SyncCollector<[PathKey: Bool]>([:])
        let (root, prefix) = (options.localRoot, options.remotePrefix)
        try await BoundedConcurrency.forEach(candidates, limit: options.parallelism) { path in
            tally.add { $0.calls += 1 }
            guard let remoteFile = remote[path], let localFile = local[path] else { return }
            let object = try await catalog.describe(prefix + path.string, version: remoteFile.version)
            var equal = object.size == localFile.stat.size
            if equal, object.partitionSize > 0 {
                let file = try LocalFile.openForReading(root + "/" + path.string)
                let plan = PartitionPlan(totalSize: object.size, partitionSize: object.partitionSize)
                let digests = try await FileHashing.digests(of: file, plan: plan) { _ in }
                equal = digests.partitions == object.partitions.map { [UInt8]($0.sha256) }
            }
            result.add { $0[path] = equal }
        }
        return result.current
    }
}
