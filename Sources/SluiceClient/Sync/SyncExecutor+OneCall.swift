import Foundation
import SluiceOpenSSL
import SluiceProto
import SluiceRPC

/// Small files in one call each, which is what a sync of a source tree or a photo folder
/// mostly moves:
///
/// - up: a file of at most 4 MiB that fits one partition goes in one `PutObject` (its bytes
///   read once, hashed in memory, sent under a request id saved in the state before the
///   call, so that neither a retry after a lost answer nor the next run of a sync killed
///   meanwhile can make a second version; see ``PendingPut``). No lookup comes before it:
///   the version the put makes tells whether another device committed since the listing
///   (`keepOvertaken` keeps that version as a conflict copy), so nothing is lost without
///   asking first.
/// - down: an object of at most 4 MiB comes in one `ReadObject` of the planned version, whose
///   first message describes it; the bytes are checked in memory (every partition's SHA-256,
///   the composite, the whole SHA-256 when known), written to the temporary file, fsync'ed
///   and renamed into place.
extension SyncExecutor {
    /// The largest file moved in one call: PutObject's limit (also what a small transfer
    /// holds in memory).
    static let oneCallBytes = Uploader.maxPutObjectBytes

    /// Whether the upload of `size` bytes goes in one PutObject: the file fits 4 MiB and one
    /// partition of the size the remote version was cut in (else the session path sends only
    /// the partitions that changed).
    static func uploadsInOneCall(size: Int64, expected: RemoteFile?) -> Bool {
        guard size <= oneCallBytes, let partitionSize = try? partitionSize(matching: expected, size: size) else {
            return false
        }
        return size <= partitionSize
    }

    /// Whether the download of `remote` takes one ReadObject.
    static func downloadsInOneCall(_ remote: RemoteFile) -> Bool {
        remote.size <= oneCallBytes
    }

    /// Whether the action moves at most one small file (or none) and takes a call or two:
    /// such actions run `SyncOptions.smallParallelism` at a time (memory: that many times
    /// 4 MiB at most).
    static func isSmall(_ action: SyncAction) -> Bool {
        switch action {
        case .upload(_, let local, let expected): uploadsInOneCall(size: local.stat.size, expected: expected)
        case .download(_, let remote, _): downloadsInOneCall(remote)
        case .deleteRemote, .deleteLocal, .record, .forget: true
        case .conflict: false
        }
    }

    // MARK: Up

    /// Uploads a small file in one PutObject; a file that changes while it is read is read
    /// again (up to `uploadAttempts` times), one that changed after it was read is sent
    /// again, so what is committed is always what was hashed.
    func uploadInOneCall(_ path: String, expected: RemoteFile?) async throws {
        let file = absolute(path)
        var sent: Int64 = 0
        var expected = expected
        for attempt in 0..<Self.uploadAttempts {
            if attempt > 0 { try await Task.sleep(for: .milliseconds(300)) }
            guard let read = try await Self.readSettled(file) else { continue }
            let digest = read.data.withUnsafeBytes { SHA256.hash($0) }
            let object = try await put(path, data: read.data, sha256: digest, contentType: "", replacing: expected)
            sent += Int64(read.data.count)      // the tally counted every call that sent them (``put``)
            let sha256 = Hex.encode(digest)
            try await recordUpload(
                path, SyncedFile(local: read.stat, sha256: sha256, remoteVersion: object.version), replacing: expected)
            if LocalStat.of(file)?.stat == read.stat {
                tally.add { $0.uploaded += 1 }
                report(SyncEvent(kind: .upload, path: path, bytes: sent))
                return
            }
            // The next attempt replaces this attempt's version, not another device's.
            expected = RemoteFile(
                version: object.version, size: read.stat.size, sha256: sha256, partitionSize: object.partitionSize)
            report(SyncEvent(kind: .retrying, path: path, detail: "it changed after it was uploaded; sending it again"))
        }
        throw Deferred(reason: "the file kept changing while it was uploaded; it is sent again once it settles")
    }

    /// The zero-byte object that stands for an empty directory, in one PutObject (an
    /// RPCError UNIMPLEMENTED from an older sluiced without it).
    func putEmptyMarker(_ path: String, replacing expected: RemoteFile?) async throws -> Int64 {
        try await put(
            path, data: Data(), sha256: SHA256.hash([]), contentType: SyncNames.markerContentType, replacing: expected
        ).version
    }

    /// Attempts under a request id the state kept: the first may meet the call of a killed
    /// run still committing (its session is then found committed as it is written to), the
    /// second gets that call's version; should it fail too, the call's session closed
    /// without one (it expired) and a new id is taken. A new id is taken at once when the
    /// version the kept id made was deleted since (NOT_FOUND; by another device, say): this
    /// device never recorded that upload, so its file is simply new again.
    private static let keptRequestIDAttempts = 2

    /// One PutObject under the request id the state keeps for this path and these bytes (a
    /// killed run's call, or the pass's reservation), else under a new one saved first; the
    /// answer is checked to be these bytes.
    private func put(
        _ path: String, data: Data, sha256: [UInt8], contentType: String, replacing expected: RemoteFile?
    ) async throws -> Sluice_V1_ObjectInfo {
        let hex = Hex.encode(sha256)
        if let kept = state.state.pendingPuts?[PathKey(path)], kept.sha256 == hex {
            for _ in 0..<Self.keptRequestIDAttempts {
                do {
                    return try await put(path, data: data, sha256: sha256, contentType: contentType, requestID: kept.requestID)
                } catch let error as RPCError where error.code == .failedPrecondition {
                    continue
                } catch let error as RPCError where error.code == .notFound {
                    break
                }
            }
        }
        let fresh = PendingPut(sha256: hex, planned: PlannedReplacement(replacing: expected, listingCursor: listingCursor))
        try state.persist { $0.pendingPuts = ($0.pendingPuts ?? [:]).merging([PathKey(path): fresh]) { $1 } }
        return try await put(path, data: data, sha256: sha256, contentType: contentType, requestID: fresh.requestID)
    }

    /// One PutObject, retried under `requestID`; the answer is checked to be these bytes.
    private func put(_ path: String, data: Data, sha256: [UInt8], contentType: String, requestID: String)
        async throws -> Sluice_V1_ObjectInfo
    {
        var request = Sluice_V1_PutObjectRequest()
        request.name = objectName(path)
        request.data = data
        request.sha256 = Data(sha256)
        request.contentType = contentType
        request.owner = options.owner
        request.requestID = requestID
        let object = try await options.retry.run("upload of \(request.name)") {
            // Every attempt's bytes went over the wire, whether or not it was answered.
            tally.add {
                $0.calls += 1
                $0.bytesSent += Int64(data.count)
            }
            return try await objects.putObject(request, options: transferOptions)
        }
        let digests = FileDigests(partitions: data.isEmpty ? [] : [sha256], object: sha256)
        try Uploader.check(object, against: digests, size: Int64(data.count))
        return object
    }

    /// The file's bytes and the stat they were read under; nil when the file changed while it
    /// was read. Defers when it went away or is no longer a regular file (``localFileGone``).
    private static func readSettled(_ file: String) async throws -> (stat: LocalStat, data: Data)? {
        guard let before = LocalStat.of(file), before.kind == S_IFREG else {
            throw localFileGone
        }
        guard before.stat.size <= oneCallBytes else {
            throw Deferred(reason: "the file grew past 4 MiB since the scan; it is sent on the next pass")
        }
        let data: Data
        do {
            data = try await BlockingWork.run { _ in
                // One byte more than expected reveals a file that grew.
                var data = Data(count: Int(before.stat.size) + 1)
                let count = try data.withUnsafeMutableBytes { try LocalFile.openForReading(file).read(into: $0, at: 0) }
                return data.prefix(count)
            }
        } catch is LocalFileError where !isRegularFile(file) {
            // Gone, or a folder (EISDIR), a socket (ENXIO) ... took its name since the look.
            throw localFileGone
        }
        guard Int64(data.count) == before.stat.size, LocalStat.of(file)?.stat == before.stat else { return nil }
        return (before.stat, data)
    }

    // MARK: Down

    /// Downloads a small object version in one ReadObject and puts it in place atomically.
    func downloadInOneCall(_ path: String, remote: RemoteFile, replacing: LocalStat?) async throws {
        let directory = try directory(holding: path, creating: true)
        let name = SyncNames.lastComponent(of: path)
        let (object, data) = try await readWhole(path, version: remote.version)
        let sha256 = try Self.verified(data, as: object)
        let temporary = SyncNames.downloadTemporary(for: name, marker: temporaryMarker)
        // Whatever holds the temporary name goes first, so that a link there is not followed;
        // a failure is one to make the temporary file, which is what is said.
        do {
            try directory.removeFile(temporary)
        } catch let error as LocalFileError {
            throw LocalFileError(
                path: directory.path + "/" + temporary, operation: "make the temporary file", code: error.code,
                writing: true)
        }
        let temporaryPath = directory.path(of: temporary)
        try await directory.namingFiles {
            try await BlockingWork.run { _ in
                let file = try LocalFile.openForUpdate(temporaryPath)
                try file.truncate(to: 0)
                try data.withUnsafeBytes { try file.write($0, at: 0) }
                try file.sync()
            }
        }
        try place(temporary, at: name, in: directory, replacing: replacing)
        state.renamed(in: directory.path)
        guard let placed = directory.status(of: name)?.stat else {
            throw Deferred(reason: "the downloaded file went away at once")
        }
        try state.setDownloaded(path, SyncedFile(local: placed, sha256: Hex.encode(sha256), remoteVersion: object.version))
        tally.add {
            $0.downloaded += 1
            $0.bytesReceived += Int64(data.count)
        }
        report(SyncEvent(kind: .download, path: path, bytes: Int64(data.count)))
    }

    /// The description and bytes of one object version, in one ReadObject (retried whole).
    private func readWhole(_ path: String, version: Int64) async throws -> (Sluice_V1_ObjectInfo, Data) {
        let request = Sluice_V1_ReadObjectRequest.with {
            $0.name = objectName(path)
            $0.version = version
            $0.owner = options.owner
        }
        let limit = Self.oneCallBytes
        tally.add { $0.calls += 1 }
        do {
            return try await options.retry.run("read of \(request.name)") {
                try await objects.readObject(request, options: transferOptions) { responses in
                    var object: Sluice_V1_ObjectInfo?
                    var data = Data()
                    for try await message in responses {
                        if message.hasObject { object = message.object }
                        guard data.count + message.data.count <= limit else {
                            throw IntegrityError("\(request.name) sent more than the \(limit) bytes it was listed with")
                        }
                        data.append(message.data)
                    }
                    guard let object else {
                        throw IntegrityError("the server's answer for \(request.name) did not describe it")
                    }
                    return (object, data)
                }
            }
        } catch let error where FailureKind(error) == .notFound {
            throw Deferred(reason: "the remote version went away meanwhile")
        }
    }

    /// The SHA-256 of `data` once it is proven to be the version `object` describes: the
    /// description is whole, every partition's bytes hash to its SHA-256 (which the
    /// composite vouches for), and the whole hash matches when the server knows it.
    static func verified(_ data: Data, as object: Sluice_V1_ObjectInfo) throws -> [UInt8] {
        let layout = try ObjectLayout(object)
        guard Int64(data.count) == layout.plan.totalSize else {
            throw IntegrityError(
                "\(object.name) version \(object.version) arrived with \(data.count) of its \(object.size) bytes")
        }
        // One pass over the bytes, in place: each partition's hash, and the whole object's
        // alongside only when it is not simply the one partition's.
        var wholeHasher = SHA256()
        let severalPartitions = object.partitions.count > 1
        for (index, partition) in object.partitions.enumerated() {
            let start = data.startIndex + Int(layout.plan.offset(of: index))
            let digest = data[start..<start + Int(partition.size)].withUnsafeBytes { bytes in
                if severalPartitions { wholeHasher.update(bytes) }
                return SHA256.hash(bytes)
            }
            guard digest == [UInt8](partition.sha256) else {
                throw IntegrityError(
                    "partition \(index) of \(object.name) version \(object.version) does not hash to its declared "
                        + "SHA-256 \(Hex.encode(partition.sha256)); nothing was written")
            }
        }
        let whole = severalPartitions
            ? wholeHasher.finalize() : object.partitions.first.map { [UInt8]($0.sha256) } ?? SHA256.hash([])
        guard object.sha256.isEmpty || whole == [UInt8](object.sha256) else {
            throw IntegrityError(
                "\(object.name) version \(object.version) hashes to \(Hex.encode(whole)), not the declared "
                    + "\(Hex.encode(object.sha256)); nothing was written")
        }
        return whole
    }
}
