import Foundation
import SluiceOpenSSL
import SluicePostgres
import Synchronization

/// Computes, off the commit path, the whole-object SHA-256 of versions committed before it
/// was known (their partitions arrived out of order), and checks it against the hash the
/// uploader declared: equal makes the version `verified`, none declared `undeclared`, a
/// different one `mismatch` (recorded for good, and never shown as verified).
///
/// A commit wakes it (``wake()``); the daemon also runs a pass every so often, so versions
/// committed by an instance that stopped before verifying them are picked up by any
/// instance. Two instances verifying the same version compute the same hash; the update is
/// conditional on the version still being pending, so the first one wins.
///
/// Each partition is read whole and checked against its own SHA-256 on the way
/// (``VerifiedBlobBytes``): a damaged one is recorded like any damaged read and leaves
/// the version pending until uploading the same bytes again repairs it.
public final class WholeHashVerifier: Sendable {
    let database: PostgresPool
    let blobs: any BlobStore
    let ledger: DamageLedger
    /// Whether a pass is running, and whether another was asked for meanwhile.
    private let passes = Mutex((running: false, again: false))

    /// Bytes per read while hashing.
    static let chunkSize = 1 << 20

    public init(database: PostgresPool, blobs: any BlobStore) {
        self.database = database
        self.blobs = blobs
        self.ledger = DamageLedger(database: database)
    }

    /// Starts a pass in the background unless one is running; a running pass makes one
    /// more round before it stops, so a version committed during it is not left for the
    /// periodic pass.
    public func wake() {
        let start = passes.withLock { state -> Bool in
            if state.running {
                state.again = true
                return false
            }
            state.running = true
            return true
        }
        guard start else { return }
        Task.detached { [self] in
            while true {
                _ = try? await verifyPending()
                let more = passes.withLock { state -> Bool in
                    if state.again {
                        state.again = false
                        return true
                    }
                    state.running = false
                    return false
                }
                if !more { return }
            }
        }
    }

    /// Runs a pass every `interval` until cancelled.
    public func run(every interval: Duration) async {
        while !Task.isCancelled {
            _ = try? await verifyPending()
            try? await Task.sleep(for: interval)
        }
    }

    /// Verifies the pending versions, oldest first, at most `limit` of them; returns how
    /// many it settled. A version it cannot read (damaged storage) stays pending.
    @discardableResult
    public func verifyPending(limit: Int = 1000) async throws -> Int {
        let pending = try await database.withConnection { connection in
            try connection.execute("""
                SELECT object_id, version, declared_sha256 FROM object_versions
                WHERE sha256_state = 'pending' ORDER BY committed_at LIMIT $1
                """, [.int(Int64(limit))]).rows.map {
                (objectID: try $0.int("object_id"), version: try $0.int("version"),
                 declared: try $0.optionalBytes("declared_sha256"))
            }
        }
        var settled = 0
        for version in pending {
            if Task.isCancelled { break }
            do {
                try await verify(objectID: version.objectID, version: version.version, declared: version.declared)
                settled += 1
            } catch {
                continue
            }
        }
        return settled
    }

    private func verify(objectID: Int64, version: Int64, declared: [UInt8]?) async throws {
        let partitions = try await database.withConnection { connection in
            try ObjectCatalog.partitions(ofObject: objectID, version: version, on: connection)
        }
        // Two hashes per byte (the partition's, checked by VerifiedBlobBytes as it reads, and
        // the whole object's) run on two threads: a chunk joins the whole hash in a task of its
        // own while the next is read and checked. One such task at a time, so the chunks in
        // flight stay the reader's three buffers however far the reading gets ahead.
        var whole = ResumableSHA256()
        var joining: Task<ResumableSHA256, Never>?
        for partition in partitions {
            let key = try BlobKey(scope: partition.blobScope, sha256: partition.sha256)
            let bytes = VerifiedBlobBytes(
                blobs: blobs, key: key, range: 0..<partition.size, blobSize: partition.size, chunkSize: Self.chunkSize,
                partition: partition.index, of: "object \(objectID) version \(version)", ledger: ledger,
                damageRecorded: partition.damageRecorded)
            for try await chunk in bytes {
                if let joining { whole = await joining.value }
                let before = whole
                joining = Task {
                    var after = before
                    chunk.withUnsafeBytes { after.update($0) }
                    return after
                }
            }
        }
        if let joining { whole = await joining.value }
        let actual = whole.finalize()
        let state: WholeHashState = declared.map { $0 == actual ? .verified : .mismatch } ?? .undeclared
        try await database.transaction { connection in
            // The version may have been deleted meanwhile: then nothing is updated.
            let settled = try connection.execute("""
                UPDATE object_versions SET sha256 = $3, sha256_state = $4
                WHERE object_id = $1 AND version = $2 AND sha256_state = 'pending'
                """, [.int(objectID), .int(version), .bytes(actual), .text(state.rawValue)]).affectedRows
            // The change the commit logged carried no hash (it was not known); readers of the
            // log from now on get it. A mismatch is not filled in: the feed's sha256 is only
            // ever a hash the uploader's declaration (or the absence of one) agrees with.
            guard settled == 1, state != .mismatch else { return }
            _ = try connection.execute("""
                UPDATE changes c SET sha256 = $3
                FROM objects o
                WHERE o.id = $1 AND c.kind = 'version_created' AND c.owner_id = o.principal_id AND c.name = o.name
                  AND c.version = $2 AND c.sha256 = ''::bytea
                """, [.int(objectID), .int(version), .bytes(actual)])
        }
    }
}
