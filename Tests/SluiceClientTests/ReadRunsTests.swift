import Testing
@testable import SluiceClient

/// A download's missing partitions become runs of consecutive partitions, each read with one
/// call: no run crosses a gap, none holds more than its budget (unless one partition does), and
/// a small download is still cut into enough runs to keep every parallel call busy.
@Suite struct ReadRunsTests {
    private let kib: Int64 = 1024

    @Test func smallPartitionsMakeRunsOfTheTargetSize() {
        let plan = PartitionPlan(totalSize: 1 << 30, partitionSize: 128 * kib)
        let runs = ReadRuns.group(Array(0..<plan.count), plan: plan, parallelism: 8)
        #expect(runs.count == 128)
        #expect(runs.allSatisfy { plan.size(of: $0) == ReadRuns.targetBytes })
        #expect(runs.first == 0..<64)
        #expect(runs.last == 8128..<8192)
    }

    /// A stream holds its runs in memory: they stop at the stream's smaller target.
    @Test func aStreamsRunsStopAtItsOwnTarget() {
        let plan = PartitionPlan(totalSize: 1 << 30, partitionSize: 128 * kib)
        let runs = ReadRuns.group(
            Array(0..<plan.count), plan: plan, parallelism: 8, targetBytes: ReadRuns.streamTargetBytes)
        #expect(runs.count == 1024)
        #expect(runs.allSatisfy { plan.size(of: $0) == ReadRuns.streamTargetBytes })
        let large = PartitionPlan(totalSize: 3 << 23, partitionSize: 1 << 23)
        #expect(ReadRuns.group([0, 1, 2], plan: large, parallelism: 1, targetBytes: ReadRuns.streamTargetBytes)
            == [0..<1, 1..<2, 2..<3])
    }

    @Test func runsCoverEveryIndexOnceInOrderWithoutCrossingAGap() {
        let plan = PartitionPlan(totalSize: 100 * 128 * kib + 5, partitionSize: 128 * kib)
        let missing = Array(0..<plan.count).filter { $0 % 17 != 3 }
        let runs = ReadRuns.group(missing, plan: plan, parallelism: 2)
        #expect(runs.flatMap { Array($0) } == missing)
        #expect(runs.allSatisfy { !$0.contains(3) && plan.size(of: $0) <= ReadRuns.targetBytes })
        #expect(runs.contains { $0.upperBound == plan.count }, "the short last partition joins a run")
    }

    @Test func aSmallDownloadKeepsEveryCallBusy() {
        let plan = PartitionPlan(totalSize: 16 * 128 * kib, partitionSize: 128 * kib)
        let runs = ReadRuns.group(Array(0..<plan.count), plan: plan, parallelism: 8)
        #expect(runs.count == 8)
        #expect(runs.allSatisfy { $0.count == 2 })
    }

    @Test func partitionsAtLeastTheTargetStayOnePerRun() {
        let plan = PartitionPlan(totalSize: 10 * ReadRuns.targetBytes, partitionSize: ReadRuns.targetBytes)
        #expect(ReadRuns.group(Array(0..<10), plan: plan, parallelism: 1) == (0..<10).map { $0..<($0 + 1) })
        let large = PartitionPlan(totalSize: 3 << 26, partitionSize: 1 << 26)
        #expect(ReadRuns.group([0, 1, 2], plan: large, parallelism: 4) == [0..<1, 1..<2, 2..<3])
    }

    @Test func noRunHoldsMorePartitionsThanOneReadMayAskFor() {
        let plan = PartitionPlan(totalSize: 5000, partitionSize: 1)
        let runs = ReadRuns.group(Array(0..<5000), plan: plan, parallelism: 1)
        #expect(runs.map(\.count) == [1024, 1024, 1024, 1024, 904])
    }
}
