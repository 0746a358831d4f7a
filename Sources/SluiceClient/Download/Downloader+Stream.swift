import Foundation
import SluiceOpenSSL
import Synchronization

extension Downloader {
    /// Hands the bytes of an object to a consumer in order.
    public typealias Consumer = @Sendable (Data) throws -> Void

    /// A consumer writing to standard output.
    public static let standardOutput: Consumer = { data in
        try data.withUnsafeBytes { try LocalFile.standardOutput.append($0) }
    }

    /// Streams version `version` (0: the current one) of `objectName` to `consumer` in order.
    /// Partitions are fetched in runs (``ReadRuns``, of at most ``ReadRuns/streamTargetBytes``
    /// or one partition), `parallelism` runs at a time, and each run is held in memory until it
    /// is verified and its turn comes, so memory is about `parallelism` runs. Every
    /// partition is checked before it is consumed, against hashes the composite vouches for;
    /// from an older server without one, the whole object's SHA-256 is checked at the end
    /// (bytes already consumed cannot be taken back: a mismatch there is reported after the fact).
    public func stream(
        _ objectName: String, version: Int64 = 0, to consumer: @escaping Consumer,
        progress: @escaping @Sendable (TransferEvent) -> Void = { _ in }
    ) async throws -> TransferSummary {
        let started = ContinuousClock.now
        let layout = try await describe(objectName, version: version, progress: progress)
        let count = layout.plan.count
        progress(.started(TransferStart(
            direction: .download, objectName: layout.object.name, localPath: "-", totalBytes: layout.plan.totalSize,
            partitionSize: layout.plan.partitionSize, partitionCount: count, donePartitions: 0, doneBytes: 0,
            sessionID: nil, resumed: false)))
        let fetcher = PartitionFetcher(partitions: partitions, layout: layout, options: options, progress: progress)
        let limit = options.parallelism
        // The whole-object hash is computed only for an older server's answer (to check it) and
        // for an object the server has not hashed yet (to report it): both in order, no re-read.
        let hashWhole = !layout.partitionsVouchForWhole || layout.object.sha256.isEmpty

        let runs = ReadRuns.group(
            Array(0..<count), plan: layout.plan, parallelism: limit, targetBytes: ReadRuns.streamTargetBytes)
        let digest = try await withThrowingTaskGroup(of: (Int, Data).self) { group in
            var whole = SHA256()
            var launched = 0
            var next = 0
            var ready: [Int: Data] = [:]
            while next < runs.count {
                while launched < runs.count && launched < next + limit {
                    let (number, run) = (launched, runs[launched])
                    group.addTask {
                        let buffer = RunBuffer(size: Int(layout.plan.size(of: run)))
                        try await fetch(run, with: fetcher, into: .memory(buffer, run: run, plan: layout.plan))
                        return (number, buffer.bytes)
                    }
                    launched += 1
                }
                guard let (number, data) = try await group.next() else { break }
                ready[number] = data
                while let data = ready.removeValue(forKey: next) {
                    if hashWhole { data.withUnsafeBytes { whole.update($0) } }
                    try consumer(data)
                    next += 1
                }
            }
            return whole.finalize()
        }
        guard layout.partitionsVouchForWhole || digest == [UInt8](layout.object.sha256) else {
            throw IntegrityError(
                "\(layout.object.name) version \(layout.object.version) hashed to \(Hex.encode(digest)), not the "
                    + "declared \(Hex.encode(layout.object.sha256)); the bytes written are not the object")
        }
        let summary = summary(
            of: layout, sha256: layout.object.sha256.isEmpty ? digest : [UInt8](layout.object.sha256), localPath: "-",
            transferred: Array(0..<count), resumed: false, started: started)
        progress(.completed(summary))
        return summary
    }
}
