extension Downloader {
    /// Fetches the partitions `run` into `file`, recording each verified one in the sidecar.
    ///
    /// A run of one partition is one ReadPartition call, retried as a whole. A longer run is
    /// read with as few calls as it takes (``PartitionFetcher/readRun(_:into:completed:)``):
    /// after a call that ended early with some partitions whole, the next asks for the rest,
    /// with the retry budget started afresh since the call made progress. A partition that
    /// fails its check, or that a call ends before, goes to the one-partition path, which
    /// fetches it once more and reports it.
    func fetch(_ run: Range<Int>, with fetcher: PartitionFetcher, into file: LocalFile, recorder: SidecarRecorder)
        async throws
    {
        let plan = fetcher.layout.plan
        var next = run.lowerBound
        while next < run.upperBound {
            guard run.upperBound - next > 1 else {
                try await fetchOne(next, with: fetcher, into: file, recorder: recorder)
                return
            }
            do {
                try await options.retry.run(
                    "read of partitions \(next) to \(run.upperBound - 1)", onRetry: { fetcher.progress(.retrying($0)) }
                ) {
                    let rest = next..<run.upperBound
                    let writer = PartitionWriter(file: file, start: plan.offset(of: next), size: plan.size(of: rest))
                    let (verified, failure) = await fetcher.readRun(
                        rest, into: { bytes, offset in try writer.write(bytes, at: offset) },
                        completed: { try await recorder.record($0) })
                    // The run's last partial page may hold verified bytes: written before the
                    // next call starts, or the download goes on. (A partition recorded in the
                    // sidecar with its last bytes still held back is re-hashed on resume like
                    // any other, so a kill in between costs only fetching it again.)
                    try writer.finish()
                    next += verified
                    if let failure, verified == 0 || FailureKind(failure) != .transient { throw failure }
                }
            } catch let error where FailureKind(error) == .integrity {
                try await fetchOne(next, with: fetcher, into: file, recorder: recorder)
                next += 1
            }
        }
    }

    /// Fetches one partition with its own call, retried, and records it.
    private func fetchOne(_ index: Int, with fetcher: PartitionFetcher, into file: LocalFile, recorder: SidecarRecorder)
        async throws
    {
        let writer = PartitionWriter(
            file: file, start: fetcher.layout.plan.offset(of: index), size: fetcher.layout.plan.size(of: index))
        try await fetcher.fetch(index) { bytes, offset in try writer.write(bytes, at: offset) }
        try writer.finish()
        try await recorder.record(index)
    }
}
