import Testing

@testable import SluiceClient

/// Cutting objects into partitions, and the limits an upload must respect.
@Suite struct PartitionPlanTests {
    let mebibyte: Int64 = 1 << 20

    @Test func emptyObjectHasNoPartitions() throws {
        let plan = try PartitionPlan.upload(totalSize: 0, partitionSize: 8 * mebibyte)
        #expect(plan.count == 0)
    }

    @Test func oneByte() throws {
        let plan = try PartitionPlan.upload(totalSize: 1, partitionSize: 8 * mebibyte)
        #expect(plan.count == 1)
        #expect(plan.offset(of: 0) == 0)
        #expect(plan.size(of: 0) == 1)
    }

    @Test func exactMultiple() throws {
        let plan = try PartitionPlan.upload(totalSize: 16 * mebibyte, partitionSize: 8 * mebibyte)
        #expect(plan.count == 2)
        #expect(plan.offset(of: 1) == 8 * mebibyte)
        #expect(plan.size(of: 1) == 8 * mebibyte)
    }

    @Test func oneByteMoreThanAMultiple() throws {
        let plan = try PartitionPlan.upload(totalSize: 16 * mebibyte + 1, partitionSize: 8 * mebibyte)
        #expect(plan.count == 3)
        #expect(plan.offset(of: 2) == 16 * mebibyte)
        #expect(plan.size(of: 2) == 1)
        #expect((0..<plan.count).reduce(0) { $0 + plan.size(of: $1) } == plan.totalSize)
    }

    @Test func partitionSizeMustBeWithinTheServersLimit() {
        #expect(throws: UsageError.self) { try PartitionPlan.upload(totalSize: 10, partitionSize: 0) }
        #expect(throws: UsageError.self) { try PartitionPlan.upload(totalSize: 10, partitionSize: 64 * mebibyte + 1) }
        #expect(throws: Never.self) { try PartitionPlan.upload(totalSize: 10, partitionSize: 64 * mebibyte) }
    }

    @Test func tooManyPartitionsIsRefusedWithAHint() throws {
        let error = try #require(throws: UsageError.self) {
            try PartitionPlan.upload(totalSize: 10_001, partitionSize: 1)
        }
        #expect(error.message.contains("at least 2 bytes"))
    }

    @Test func automaticUsesTheDefaultSize() throws {
        let plan = try PartitionPlan.automatic(totalSize: 200 * mebibyte)
        #expect(plan.partitionSize == 8 * mebibyte)
        #expect(plan.count == 25)
    }

    @Test func automaticGrowsForHugeFilesInWholeMebibytes() throws {
        let size: Int64 = 100 << 30  // 100 GiB: 12,800 partitions of 8 MiB
        let plan = try PartitionPlan.automatic(totalSize: size)
        #expect(plan.partitionSize == 11 * mebibyte)
        #expect(plan.count <= PartitionPlan.maxPartitionCount)
    }

    @Test func automaticRefusesWhatNoPartitionSizeCanHold() {
        #expect(throws: UsageError.self) { try PartitionPlan.automatic(totalSize: 700 << 30) }
    }

    /// Sizes near Int64.max (a server's description, a journal) count without overflowing.
    @Test func hugeSizesDoNotOverflow() {
        #expect(PartitionPlan(totalSize: .max, partitionSize: 2).count == Int(Int64.max / 2 + 1))
        #expect(PartitionPlan(totalSize: .max, partitionSize: .max).count == 1)
        #expect(throws: UsageError.self) { try PartitionPlan.upload(totalSize: .max, partitionSize: 64 * mebibyte) }
        #expect(throws: UsageError.self) { try PartitionPlan.automatic(totalSize: .max) }
    }

    /// A stored version's cut is reused when the new size fits it, so unchanged partitions line
    /// up; never the cut of a version in one partition (a small object's partition is its own
    /// size), nor one the server would refuse for the new size.
    @Test func reusingAStoredCut() {
        let reused = PartitionPlan.reusing(
            storedSize: 20 * mebibyte, storedPartitionSize: mebibyte, totalSize: 21 * mebibyte + 5)
        #expect(reused?.partitionSize == mebibyte && reused?.count == 22)
        #expect(PartitionPlan.reusing(storedSize: 4096, storedPartitionSize: 4096, totalSize: 9 * mebibyte) == nil)
        #expect(PartitionPlan.reusing(storedSize: 3000, storedPartitionSize: 8 * mebibyte, totalSize: 9 * mebibyte) == nil)
        #expect(PartitionPlan.reusing(storedSize: 100, storedPartitionSize: 0, totalSize: 100) == nil)
        // 64 KiB partitions would cut 10 GiB into more partitions than the server takes.
        #expect(PartitionPlan.reusing(storedSize: mebibyte, storedPartitionSize: 64 << 10, totalSize: 10 << 30) == nil)
    }
}
