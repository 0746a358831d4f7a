import SluiceOpenSSL

/// The SHA-256 of every partition of a file and of the whole file.
struct FileDigests: Sendable, Equatable {
    var partitions: [[UInt8]]
    /// Empty when it was not computed (``FileHashing/partitionDigests(of:plan:progress:)``
    /// for a file of several partitions): the composite of `partitions` stands for it.
    var object: [UInt8]
}

/// Hashes files in one sequential pass with a fixed buffer, so memory stays small
/// whatever their size.
enum FileHashing {
    static let bufferSize = 1 << 20

    /// The digests of the file's partitions under `plan`, and of the whole file. Reports
    /// the bytes hashed so far to `progress` after each read.
    static func digests(
        of file: LocalFile, plan: PartitionPlan, progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> FileDigests {
        try await digests(of: file, plan: plan, hashingWholeFile: true, progress: progress)
    }

    /// The digests of the file's partitions under `plan`, each byte hashed once: the whole
    /// file's SHA-256 only where it costs nothing (a file of at most one partition, whose
    /// partition hash it is), else left empty for the server to compute from the stored bytes
    /// (the partition hashes, checked by the server on arrival and through the composite,
    /// already vouch for every byte). Hashing twice costs an upload as much CPU as TLS and
    /// every copy together.
    static func partitionDigests(
        of file: LocalFile, plan: PartitionPlan, progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> FileDigests {
        try await digests(of: file, plan: plan, hashingWholeFile: plan.count == 0, progress: progress)
    }

    private static func digests(
        of file: LocalFile, plan: PartitionPlan, hashingWholeFile: Bool, progress: @escaping @Sendable (Int64) -> Void
    ) async throws -> FileDigests {
        try await BlockingWork.run { flag in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
            defer { buffer.deallocate() }
            var whole = SHA256()
            var partitions: [[UInt8]] = []
            partitions.reserveCapacity(plan.count)
            var done: Int64 = 0
            for index in 0..<plan.count {
                var partition = SHA256()
                var remaining = plan.size(of: index)
                while remaining > 0 {
                    try flag.check()
                    let length = Int(min(remaining, Int64(bufferSize)))
                    let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
                    let count = try file.read(into: slice, at: done)
                    guard count == slice.count else {
                        throw FileChangedError(path: file.path, endsAt: done + Int64(count))
                    }
                    let bytes = UnsafeRawBufferPointer(slice)
                    partition.update(bytes)
                    if hashingWholeFile { whole.update(bytes) }
                    remaining -= Int64(count)
                    done += Int64(count)
                    progress(done)
                }
                partitions.append(partition.finalize())
            }
            if hashingWholeFile { return FileDigests(partitions: partitions, object: whole.finalize()) }
            return FileDigests(partitions: partitions, object: plan.count == 1 ? partitions[0] : [])
        }
    }

    /// The SHA-256 of `length` bytes of the file from `offset`; nil when the file is shorter.
    static func digest(of file: LocalFile, offset: Int64, length: Int64, flag: BlockingWork.CancellationFlag,
                       progress: (Int64) -> Void = { _ in }) throws -> [UInt8]? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        var done: Int64 = 0
        while done < length {
            try flag.check()
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(min(length - done, Int64(bufferSize)))])
            let count = try file.read(into: slice, at: offset + done)
            guard count == slice.count else { return nil }
            hasher.update(UnsafeRawBufferPointer(slice))
            done += Int64(count)
            progress(done)
        }
        return hasher.finalize()
    }
}
