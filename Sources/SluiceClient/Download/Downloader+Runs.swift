import Foundation
import Synchronization

extension Downloader {
    /// Where the partitions of a run go: a file (a download) or memory (a stream).
    struct RunDestination: Sendable {
        /// A sink for the partitions `rest` (its offsets count from the start of `rest`) and
        /// what settles it once the call for them ends, however it ends (a file writer writes out
        /// what it held back).
        let open: @Sendable (_ rest: Range<Int>) -> (sink: PartitionFetcher.Sink, settle: @Sendable () throws -> Void)
        /// Takes each partition once it is whole and verified (a download records it).
        let completed: @Sendable (Int) async throws -> Void
    }

    /// Fetches the partitions `run` into `destination`.
    ///
    /// A run of one partition is one ReadPartition call, retried as a whole. A longer run is
    /// read with as few calls as it takes (``PartitionFetcher/readRun(_:into:completed:)``):
    /// after a call that ended early with some partitions whole, the next asks for the rest,
    /// with the retry budget started afresh since the call made progress. A partition that
    /// fails its check, or that a call ends before, goes to the one-partition path, which
    /// fetches it once more and reports it.
    func fetch(_ run: Range<Int>, with fetcher: PartitionFetcher, into destination: RunDestination) async throws {
        var next = run.lowerBound
        while next < run.upperBound {
            guard run.upperBound - next > 1 else {
                try await fetchOne(next, with: fetcher, into: destination)
                return
            }
            do {
                try await options.retry.run(
                    "read of partitions \(next) to \(run.upperBound - 1)", onRetry: { fetcher.progress(.retrying($0)) }
                ) {
                    let (sink, settle) = destination.open(next..<run.upperBound)
                    let (verified, failure) = await fetcher.readRun(
                        next..<run.upperBound, into: sink, completed: destination.completed)
                    // The run's last partial page may hold verified bytes: written before the
                    // next call starts, or the download goes on. (A partition recorded in the
                    // sidecar with its last bytes still held back is re-hashed on resume like
                    // any other, so a kill in between costs only fetching it again.)
                    try settle()
                    next += verified
                    if let failure, verified == 0 || FailureKind(failure) != .transient { throw failure }
                }
            } catch let error where FailureKind(error) == .integrity {
                try await fetchOne(next, with: fetcher, into: destination)
                next += 1
            }
        }
    }

    /// Fetches one partition with its own call, retried, and hands it on as completed.
    private func fetchOne(_ index: Int, with fetcher: PartitionFetcher, into destination: RunDestination)
        async throws
    {
        let (sink, settle) = destination.open(index..<(index + 1))
        try await fetcher.fetch(index, into: sink)
        try settle()
        try await destination.completed(index)
    }
}

extension Downloader.RunDestination {
    /// The partitions' places in `file`, each verified one recorded by `recorder`.
    static func file(_ file: LocalFile, plan: PartitionPlan, recorder: SidecarRecorder) -> Self {
        Self(
            open: { rest in
                let writer = PartitionWriter(file: file, start: plan.offset(of: rest.lowerBound), size: plan.size(of: rest))
                return ({ bytes, offset in try writer.write(bytes, at: offset) }, { try writer.finish() })
            },
            completed: { try await recorder.record($0) })
    }

    /// `buffer`, which holds the partitions of `run` from its start, in order.
    static func memory(_ buffer: RunBuffer, run: Range<Int>, plan: PartitionPlan) -> Self {
        Self(
            open: { rest in
                let start = Int(plan.offset(of: rest.lowerBound) - plan.offset(of: run.lowerBound))
                return ({ bytes, offset in buffer.copy(bytes, at: start + Int(offset)) }, {})
            },
            completed: { _ in })
    }
}

/// The bytes of one run of partitions being fetched into memory.
final class RunBuffer: Sendable {
    private let storage: Mutex<Data>

    init(size: Int) {
        storage = Mutex(Data(count: size))
    }

    func copy(_ bytes: UnsafeRawBufferPointer, at offset: Int) {
        storage.withLock { data in
            data.withUnsafeMutableBytes { target in
                UnsafeMutableRawBufferPointer(rebasing: target[offset..<(offset + bytes.count)]).copyMemory(from: bytes)
            }
        }
    }

    var bytes: Data { storage.withLock { $0 } }
}
