import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC

/// Downloads object versions, verifying every partition's SHA-256 as it arrives and the
/// partition list against the object's composite SHA-256: every byte is hashed once (an
/// older server without the composite gets a second, whole-file pass). The whole-object
/// SHA-256 reported is the server's (``ServerWholeHash``).
///
/// To a file: the bytes go to `.<name>.sluice-part` beside the target, with a sidecar
/// journal (`.<name>.sluice-part.json`) of the partitions verified so far; partitions are
/// fetched in parallel over the client's one connection, small ones in runs of consecutive
/// partitions, one call per run (``ReadRuns``). Only a complete, verified file is
/// fsync'ed and renamed onto the target, so the target never holds corrupt or partial
/// bytes. Running the same download again resumes: partitions the sidecar lists whose bytes
/// still hash right are kept.
public struct Downloader: Sendable {
    let objects: Sluice_V1_ObjectServiceClient
    let partitions: Sluice_V1_PartitionServiceClient
    let options: DownloadOptions

    public init(client: RPCClient, options: DownloadOptions = DownloadOptions()) {
        self.objects = Sluice_V1_ObjectServiceClient(client)
        self.partitions = Sluice_V1_PartitionServiceClient(client)
        self.options = options
    }

    /// Where a download of `objectName` to `local` goes: into `local` when it is a directory
    /// (or ends with "/"), under the last "/"-separated part of the name; else `local` itself.
    ///
    /// - Throws: `UsageError` when that part cannot name a file there ("." or "..", which
    ///   would put the file, or its temporary files, outside the directory; or a part longer
    ///   than a file name may be): refused before anything is fetched.
    public static func destination(of objectName: String, at local: String) throws -> String {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: local, isDirectory: &isDirectory)
        guard local.hasSuffix("/") || (exists && isDirectory.boolValue) else { return local }
        let base = objectName.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? objectName
        guard base != ".", base != "..", !base.isEmpty else {
            throw UsageError(
                "object '\(objectName)' ends in '\(base)', which cannot name a file in \(local); give the file to write "
                    + "(sluice download NAME DIRECTORY/FILE)")
        }
        try requireFileName(base)
        return (local as NSString).appendingPathComponent(base)
    }

    /// Refuses a file name longer than the file system takes (NAME_MAX), before the transfer
    /// rather than at the rename after it.
    private static func requireFileName(_ name: String) throws {
        guard name.utf8.count <= FileNameLimit.maxBytes else {
            throw UsageError(
                "the file name '\(name.prefix(40))…' is \(name.utf8.count) bytes, more than the \(FileNameLimit.maxBytes) "
                    + "a file name may have; give a shorter one (sluice download NAME DIRECTORY/FILE)")
        }
    }

    /// Downloads version `version` (0: the current one) of `objectName` to the file `path`.
    public func download(
        _ objectName: String, version: Int64 = 0, to path: String,
        progress: @escaping @Sendable (TransferEvent) -> Void = { _ in }
    ) async throws -> TransferSummary {
        let started = ContinuousClock.now
        let target = URL(fileURLWithPath: path).standardizedFileURL.path
        let directory = (target as NSString).deletingLastPathComponent
        let name = (target as NSString).lastPathComponent
        try Self.requireFileName(name)
        let partial = (directory as NSString).appendingPathComponent(PartialFileName.partial(for: name))
        let sidecarPath = partial + PartialFileName.sidecarSuffix
        let layout = try await describe(objectName, version: version, progress: progress)

        // Held until the partial file is renamed onto the target: a second download into the
        // same target would otherwise rewrite the bytes this one verified.
        guard let file = try LocalFile.openForUpdateExclusively(partial, directWrites: true) else {
            throw TransferInProgressError(transfer: "download into \(target)", lockedFile: partial)
        }
        let fresh = layout.sidecar()
        let previous = DownloadSidecar.load(from: sidecarPath).flatMap { $0.describesSameBytes(as: fresh) ? $0 : nil }
        var verified: [Int] = []
        if let previous {
            verified = try await recheck(previous.verified, in: file, layout: layout, progress: progress)
        } else {
            try file.truncate(to: 0)
        }
        try file.truncate(to: layout.plan.totalSize)
        var sidecar = fresh
        sidecar.verified = verified
        let recorder = SidecarRecorder(sidecar, path: sidecarPath)
        try await recorder.save()

        let kept = Set(verified)
        let missing = (0..<layout.plan.count).filter { !kept.contains($0) }
        progress(.started(TransferStart(
            direction: .download, objectName: layout.object.name, localPath: target, totalBytes: layout.plan.totalSize,
            partitionSize: layout.plan.partitionSize, partitionCount: layout.plan.count, donePartitions: kept.count,
            doneBytes: kept.reduce(0) { $0 + layout.plan.size(of: $1) }, sessionID: nil, resumed: previous != nil)))

        let fetcher = PartitionFetcher(partitions: partitions, layout: layout, options: options, progress: progress)
        let runs = ReadRuns.group(missing, plan: layout.plan, parallelism: options.parallelism)
        let destination = RunDestination.file(file, plan: layout.plan, recorder: recorder)
        do {
            try await BoundedConcurrency.forEach(runs, limit: options.parallelism) { run in
                try await fetch(run, with: fetcher, into: destination)
            }
        } catch let error where FailureKind(error) == .notFound {
            // The version went away meanwhile (deleted, or the object removed for good): no
            // later run can finish this partial file.
            unlink(partial)
            unlink(sidecarPath)
            throw error
        }

        var wholeSHA256 = [UInt8](layout.object.sha256)
        if !layout.partitionsVouchForWhole {
            try await verifyWhole(file, layout: layout, progress: progress) {
                unlink(partial)
                unlink(sidecarPath)
            }
        } else if wholeSHA256.isEmpty, layout.object.sha256State != .notComputed {
            // Committed moments ago from an out-of-order upload, the server had not hashed the
            // whole object yet when the download began: its verifier has most likely done so
            // since. Only if it has not in good time is the file hashed a second time, so that
            // the summary's SHA-256 is always one somebody computed from the bytes. A version
            // whose uploader asked for no whole hash has none: its composite vouched for it.
            let server = ServerWholeHash(objects: objects, owner: options.owner, callTimeout: options.callTimeout)
            if let settled = try await server.settled(layout.object) {
                wholeSHA256 = settled
            } else {
                wholeSHA256 = try await hashWhole(file, layout: layout, progress: progress)
            }
        }
        try file.sync()
        guard rename(partial, target) == 0 else {
            throw LocalFileError(path: target, operation: "rename \(partial) to", code: errno, writing: true)
        }
        AtomicWrite.syncDirectory(directory)
        unlink(sidecarPath)
        let summary = summary(
            of: layout, sha256: wholeSHA256, localPath: target, transferred: missing, resumed: previous != nil,
            started: started)
        progress(.completed(summary))
        return summary
    }

    /// GetObject, retried, with the answer checked to be whole.
    func describe(
        _ objectName: String, version: Int64, progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> ObjectLayout {
        var request = Sluice_V1_GetObjectRequest()
        request.name = objectName
        request.version = version
        request.owner = options.owner
        let object = try await options.retry.run("lookup of \(objectName)", onRetry: { progress(.retrying($0)) }) {
            try await objects.getObject(request, options: CallOptions(timeout: options.callTimeout))
        }
        return try ObjectLayout(object)
    }

    /// The partitions of `candidates` whose bytes on disk still match their SHA-256.
    private func recheck(
        _ candidates: [Int], in file: LocalFile, layout: ObjectLayout,
        progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> [Int] {
        let plan = layout.plan
        let indexes = Set(candidates.filter { (0..<plan.count).contains($0) }).sorted()
        let total = indexes.reduce(0) { $0 + plan.size(of: $1) }
        return try await BlockingWork.run { flag in
            var good: [Int] = []
            var checked: Int64 = 0
            for index in indexes {
                let size = plan.size(of: index)
                let digest = try FileHashing.digest(
                    of: file, offset: plan.offset(of: index), length: size, flag: flag
                ) {
                    progress(.hashing(.resuming, bytes: checked + $0, of: total))
                }
                if digest == [UInt8](layout.object.partitions[index].sha256) { good.append(index) }
                checked += size
            }
            return good
        }
    }

    /// The SHA-256 of the whole downloaded file.
    private func hashWhole(
        _ file: LocalFile, layout: ObjectLayout, progress: @escaping @Sendable (TransferEvent) -> Void
    ) async throws -> [UInt8] {
        let total = layout.plan.totalSize
        let digest = try await BlockingWork.run { flag in
            try FileHashing.digest(of: file, offset: 0, length: total, flag: flag) {
                progress(.hashing(.verifying, bytes: $0, of: total))
            }
        }
        guard let digest else { throw IntegrityError("\(layout.object.name) ended early while it was hashed") }
        return digest
    }

    /// Hashes the whole file and compares it with the object's SHA-256; on a mismatch runs
    /// `discard` and throws an integrity failure.
    private func verifyWhole(
        _ file: LocalFile, layout: ObjectLayout, progress: @escaping @Sendable (TransferEvent) -> Void,
        discard: () -> Void
    ) async throws {
        let total = layout.plan.totalSize
        let digest = try await BlockingWork.run { flag in
            try FileHashing.digest(of: file, offset: 0, length: total, flag: flag) {
                progress(.hashing(.verifying, bytes: $0, of: total))
            }
        }
        guard digest == [UInt8](layout.object.sha256) else {
            discard()
            throw IntegrityError(
                "\(layout.object.name) version \(layout.object.version) hashes to "
                    + "\(digest.map { Hex.encode($0) } ?? "a short file"), not the declared "
                    + "\(Hex.encode(layout.object.sha256)); the partial download was discarded")
        }
    }

    /// The summary of a download whose whole-object SHA-256 is `sha256`.
    func summary(
        of layout: ObjectLayout, sha256: [UInt8], localPath: String, transferred: [Int], resumed: Bool,
        started: ContinuousClock.Instant
    ) -> TransferSummary {
        TransferSummary(
            direction: .download, objectName: layout.object.name, localPath: localPath,
            version: layout.object.version, size: layout.object.size, sha256: Hex.encode(sha256),
            compositeSHA256: Hex.encode(layout.object.compositeSha256), partitionCount: layout.plan.count,
            partitionsTransferred: transferred.count,
            bytesTransferred: transferred.reduce(0) { $0 + layout.plan.size(of: $1) }, resumed: resumed,
            elapsed: ContinuousClock.now - started, sessionID: nil)
    }
}
