import SluiceStore

/// Bounds the memory read streams (ReadObject, ReadPartition) hold in buffers across the
/// process, and one principal's share of it.
///
/// A read holds up to three chunks while it streams: the one being sent, the one the
/// verifier holds back until its partition's hash is checked, and the one being read. A
/// client that opens reads and never lets their bytes through (a closed flow-control window)
/// keeps that memory for as long as its calls last; with a thousand such calls one client
/// held gigabytes. Each read therefore waits, before its first byte is read, until what it may
/// hold fits in ``processBytes``, of which one principal may hold a quarter: a principal at
/// its share waits for its own reads to end, others are not held up.
public struct ReadBufferBudget: Sendable {
    /// Buffer memory every read of the process shares: 512 MiB.
    public static let processBytes = 512 * 1024 * 1024

    private let gate: FairShareGate

    public init(bytes: Int = processBytes) {
        gate = FairShareGate(limit: bytes, perHolderLimit: bytes / 4)
    }

    /// Runs a read of `length` bytes in chunks of `chunkSize` for `principal` once the buffers
    /// it may hold fit, and gives them back when it ends.
    func reading<Result>(
        _ length: Int64, inChunksOf chunkSize: Int, by principal: Principal, _ body: () async throws -> Result
    ) async throws -> Result {
        let held = Int(min(length, Int64(3 * chunkSize)))
        return try await gate.holding(held, for: "\(principal.id)", body)
    }
}
