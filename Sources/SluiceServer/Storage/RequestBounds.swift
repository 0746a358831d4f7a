import SluiceRPC
import SluiceStore

/// Range checks on the numbers of a request, made before anything touches the database, so
/// that a number no session or object can have is the client's mistake (INVALID_ARGUMENT with
/// the bound), never a database error.
enum RequestBounds {
    /// A partition index to upload: 0 up to (not including) the most partitions a session may have.
    static func uploadPartitionIndex(_ index: Int32, limits: StorageLimits) throws -> Int {
        let limit = limits.maxPartitionsPerSession
        guard index >= 0, Int(index) < limit else {
            throw RPCError(
                .invalidArgument,
                "partition_index \(index) is out of range: a session has at most \(limit) partitions, numbered 0 to \(limit - 1)")
        }
        return Int(index)
    }
}
