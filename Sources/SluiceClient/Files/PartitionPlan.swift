/// How an object of a given size is cut into partitions: every partition but the last has
/// `partitionSize` bytes, the last holds the rest; an empty object has none.
public struct PartitionPlan: Sendable, Equatable {
    /// The default partition size: 8 MiB.
    public static let defaultPartitionSize: Int64 = 8 << 20
    /// The server's default largest partition: 64 MiB.
    public static let maxPartitionSize: Int64 = 64 << 20
    /// The server's default largest number of partitions in one session.
    public static let maxPartitionCount = 10_000

    public let totalSize: Int64
    public let partitionSize: Int64

    /// The plan of an object already cut this way (as a server describes it).
    /// - Precondition: `totalSize` is not negative; `partitionSize` is positive.
    public init(totalSize: Int64, partitionSize: Int64) {
        precondition(totalSize >= 0 && partitionSize > 0, "a partition plan needs sizes that fit")
        self.totalSize = totalSize
        self.partitionSize = partitionSize
    }

    /// A plan for uploading with exactly this partition size; refuses what the server
    /// would refuse.
    public static func upload(totalSize: Int64, partitionSize: Int64) throws -> PartitionPlan {
        guard totalSize >= 0 else { throw UsageError("a size cannot be negative") }
        guard (1...maxPartitionSize).contains(partitionSize) else {
            throw UsageError("the partition size must be 1 byte to 64 MiB, got \(partitionSize) bytes")
        }
        let plan = PartitionPlan(totalSize: totalSize, partitionSize: partitionSize)
        guard plan.count <= maxPartitionCount else {
            throw UsageError(
                "\(totalSize) bytes in partitions of \(partitionSize) bytes make \(plan.count) partitions; "
                    + "the limit is \(maxPartitionCount): use a partition size of at least "
                    + "\(smallestPartitionSize(for: totalSize)) bytes")
        }
        return plan
    }

    /// A plan for a size the caller did not choose: the default size, grown to a whole
    /// number of MiB when the object would otherwise need too many partitions.
    public static func automatic(totalSize: Int64) throws -> PartitionPlan {
        let needed = smallestPartitionSize(for: totalSize)
        let mebibyte: Int64 = 1 << 20
        let rounded = (needed + mebibyte - 1) / mebibyte * mebibyte
        return try upload(totalSize: totalSize, partitionSize: max(defaultPartitionSize, rounded))
    }

    /// A plan cut like a stored version (`storedSize` bytes in partitions of
    /// `storedPartitionSize`), so that the partitions that did not change line up with stored
    /// ones and are not sent again; nil when that cut does not suit `totalSize`. Never the cut of
    /// a version in one partition: a small object is stored as one partition of its own size,
    /// which would cut a file that has grown into partitions that small.
    public static func reusing(storedSize: Int64, storedPartitionSize: Int64, totalSize: Int64) -> PartitionPlan? {
        guard storedPartitionSize > 0, storedSize > storedPartitionSize else { return nil }
        return try? upload(totalSize: totalSize, partitionSize: storedPartitionSize)
    }

    /// Number of partitions: ceil(totalSize / partitionSize), without overflow for any size
    /// (a server may describe one near Int64.max).
    public var count: Int {
        Int(Self.quotientRoundedUp(totalSize, partitionSize))
    }

    /// Where partition `index` starts in the object.
    public func offset(of index: Int) -> Int64 {
        Int64(index) * partitionSize
    }

    /// How many bytes partition `index` holds.
    public func size(of index: Int) -> Int64 {
        min(partitionSize, totalSize - offset(of: index))
    }

    /// How many bytes the partitions `run` (non-empty, consecutive) hold together.
    public func size(of run: Range<Int>) -> Int64 {
        offset(of: run.upperBound - 1) + size(of: run.upperBound - 1) - offset(of: run.lowerBound)
    }

    private static func smallestPartitionSize(for totalSize: Int64) -> Int64 {
        max(1, quotientRoundedUp(totalSize, Int64(maxPartitionCount)))
    }

    private static func quotientRoundedUp(_ dividend: Int64, _ divisor: Int64) -> Int64 {
        dividend / divisor + (dividend % divisor == 0 ? 0 : 1)
    }
}
