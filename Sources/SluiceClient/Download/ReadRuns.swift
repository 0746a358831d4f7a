/// How a download groups the partitions it still needs into runs, each read with one
/// ReadPartition call (`partition_count`): per call costs (a stream, a database lookup, a task)
/// dominate small partitions — 8,192 partitions of 128 KiB took 3.3 times as long as the same
/// GiB in 8 MiB partitions, one call each.
enum ReadRuns {
    /// Bytes a run holds at most, unless one partition is larger: calls of this size cost
    /// what a call for an 8 MiB partition costs, already a small share of moving its bytes.
    static let targetBytes: Int64 = 8 << 20
    /// Bytes a run holds at most when the download streams (`--stdout`), unless one partition
    /// is larger: each run is held in memory until its turn, so a stream holds `parallelism`
    /// runs; 1 MiB already spreads a call's cost over eight 128 KiB partitions.
    static let streamTargetBytes: Int64 = 1 << 20
    /// Partitions a run holds at most: the server's limit on one read.
    static let maxPartitions = 1024

    /// `indexes` (ascending) cut into runs of consecutive partitions, in order. A run holds at
    /// most `targetBytes` (one partition, if that is larger), and fewer partitions when that
    /// would leave fewer runs than `parallelism`, so that a small download still keeps that
    /// many calls busy.
    static func group(
        _ indexes: [Int], plan: PartitionPlan, parallelism: Int, targetBytes: Int64 = targetBytes
    ) -> [Range<Int>] {
        let lanes = max(1, parallelism)
        let evenShare = (indexes.count + lanes - 1) / lanes
        let perRun = max(1, min(Int(targetBytes / plan.partitionSize), maxPartitions, evenShare))
        var runs: [Range<Int>] = []
        for index in indexes {
            if let last = runs.last, last.upperBound == index, last.count < perRun {
                runs[runs.count - 1] = last.lowerBound..<(index + 1)
            } else {
                runs.append(index..<(index + 1))
            }
        }
        return runs
    }
}
