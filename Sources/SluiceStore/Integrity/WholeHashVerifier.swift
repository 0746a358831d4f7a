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
/// It starts where the session's ``WholeHashFrontier`` left the hash (usually near the end:
/// the frontier hashes a parallel upload's partitions while it runs). Each partition is read
/// whole and checked against its own SHA-256 on the way (``WholeHashExtension``): a damaged
/// one is recorded like any damaged read and leaves the version pending until uploading the
/// same bytes again repairs it.
public final class WholeHashVerifier: Sendable {
    let database: PostgresPool
    let blobs: any BlobStore
    let ledger: DamageLedger
    /// Where open sessions advance their hashes; a version resumes from its session's.
    let frontier: WholeHashFrontier
    /// Whether a pass is running, and whether another was asked for meanwhile.
    private let passes = Mutex((running: false, again: false))

    public init(database: PostgresPool, blobs: any BlobStore) {
        self.database = database
        self.blobs = blobs
        let ledger = DamageLedger(database: database)
        self.ledger = ledger
        self.frontier = WholeHashFrontier(database: database, blobs: blobs, ledger: ledger)
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
        let (start, through) = try await resumption(objectID: objectID, version: version)
        let partitions = try await database.withConnection { connection in
            try ObjectCatalog.partitions(ofObject: objectID, version: version, on: connection)
        }
        let extending = WholeHashExtension(blobs: blobs, ledger: ledger, object: "object \(objectID) version \(version)")
        let whole = try await extending.extend(start, over: partitions.filter { $0.index >= through })
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

    /// Where the version's hash starts: the state its session's ``WholeHashFrontier`` saved
    /// over its first partitions (once no advance of it runs here), or nothing hashed. The
    /// session row outlives the commit for the request-id retention; after that, or for a
    /// state that does not resume, the hash starts over.
    private func resumption(objectID: Int64, version: Int64) async throws -> (ResumableSHA256, Int) {
        let query = PostgresStatement("""
            SELECT id, whole_hashed_through, whole_hash_state FROM upload_sessions
            WHERE committed_object_id = $1 AND committed_version = $2
            """, [.int(objectID), .int(version)])
        let session = { () async throws -> PostgresRow? in
            try await self.database.withConnection { try $0.execute(query).rows.first }
        }
        guard let first = try await session() else { return (ResumableSHA256(), 0) }
        await frontier.quiesce(SessionID(bytes: try first.bytes("id")))
        guard let row = try await session(), let exported = try row.optionalBytes("whole_hash_state"),
              let state = ResumableSHA256(exported: exported)
        else { return (ResumableSHA256(), 0) }
        return (state, Int(try row.int("whole_hashed_through")))
    }
}
