import Foundation
import Synchronization

/// A blob store whose writers pass a `FairShareGate` first: at most `gate.limit` writers (each
/// an open staging file) exist at once, at most `gate.perHolderLimit` of them for one blob scope,
/// and more wait for one to finish or abort. Everything else goes straight to the store it wraps.
public struct GatedBlobStore: BlobStore {
    public let store: any BlobStore
    public let gate: FairShareGate

    public init(_ store: any BlobStore, gate: FairShareGate) {
        self.store = store
        self.gate = gate
    }

    public func makeWriter(for key: BlobKey, size: Int64) async throws -> any BlobWriter {
        try await gate.acquire(for: key.scope)
        let slot = GateSlot(gate, holder: key.scope)
        do {
            return GatedBlobWriter(writer: try await store.makeWriter(for: key, size: size), slot: slot)
        } catch {
            slot.release()
            throw error
        }
    }

    public func contains(_ key: BlobKey) async throws -> Bool { try await store.contains(key) }

    public func read(_ key: BlobKey, range: Range<Int64>, chunkSize: Int) -> BlobChunks {
        store.read(key, range: range, chunkSize: chunkSize)
    }

    public func delete(_ key: BlobKey, before deadline: ContinuousClock.Instant) async throws -> BlobDeletion {
        try await store.delete(key, before: deadline)
    }

    public func keys(olderThan cutoff: Date, after: BlobKey?, limit: Int) async throws -> [BlobKey] {
        try await store.keys(olderThan: cutoff, after: after, limit: limit)
    }

    public func removeAbandonedStaging(olderThan cutoff: Date) async throws -> Int {
        try await store.removeAbandonedStaging(olderThan: cutoff)
    }
}

/// One slot of the gate, given back once: at finish, at abort, or when the writer is dropped.
private final class GateSlot: Sendable {
    private let gate: FairShareGate
    private let holder: String
    private let held = Mutex(true)

    init(_ gate: FairShareGate, holder: String) {
        self.gate = gate
        self.holder = holder
    }

    func release() {
        if held.withLock({ held in defer { held = false }; return held }) { gate.release(for: holder) }
    }

    deinit { release() }
}

/// A writer holding a gate slot until it is done.
private struct GatedBlobWriter: BlobWriter {
    let writer: any BlobWriter
    let slot: GateSlot

    func write(_ bytes: some ContiguousBytes & Sendable) async throws {
        try await writer.write(bytes)
    }

    func finish() async throws {
        defer { slot.release() }
        try await writer.finish()
    }

    func abort() async {
        await writer.abort()
        slot.release()
    }
}
