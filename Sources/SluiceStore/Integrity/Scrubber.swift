import Foundation
import SluiceOpenSSL
import SluiceMetrics
import SluicePostgres
import Synchronization

/// Re-reads every blob something refers to and re-hashes it against its content address,
/// at a bounded rate, through the ``BlobStore`` interface (so disk and S3 alike). What it
/// finds goes to `damaged_blobs` (and to the caller, who logs it); a blob found intact
/// again, or rewritten by an upload of the same bytes, leaves that table.
public final class Scrubber: Sendable {
    /// What one pass saw.
    public struct Report: Sendable, Equatable {
        public var checkedBlobs = 0
        public var checkedBytes: Int64 = 0
        /// Blobs whose bytes do not hash to their address.
        public var damagedBlobs = 0
        /// Blobs the metadata refers to that the store does not hold (or holds cut short).
        public var missingBlobs = 0

        public init() {}
    }

    /// One damaged or missing blob, as found.
    public struct Finding: Sendable, CustomStringConvertible {
        public var key: BlobKey
        public var detail: String
        public var description: String { "\(key): \(detail)" }
    }

    private let database: PostgresPool
    private let blobs: any BlobStore
    /// Bytes read per second at most; 0 for no limit.
    private let bytesPerSecond: Int64

    public init(database: PostgresPool, blobs: any BlobStore, bytesPerSecond: Int64) {
        self.database = database
        self.blobs = blobs
        self.bytesPerSecond = max(0, bytesPerSecond)
    }

    /// Runs passes every `interval` (measured from the end of one to the start of the
    /// next) until the task is cancelled; a failed pass is reported and retried.
    public func run(
        every interval: Duration, onFinding: @escaping @Sendable (Finding) -> Void,
        onPass: @Sendable (Result<Report, Error>) -> Void
    ) async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
                let report = try await scrub(onFinding: onFinding)
                SluiceMetrics.scrubberPassCompleted(
                    checkedBlobs: report.checkedBlobs, checkedBytes: report.checkedBytes,
                    damaged: report.damagedBlobs, missing: report.missingBlobs)
                onPass(.success(report))
            } catch is CancellationError {
                return
            } catch {
                SluiceMetrics.scrubberPassFailed()
                onPass(.failure(error))
            }
        }
    }

    private static let pageSize = 100
    private static let chunkSize = 1 << 20

    /// One pass over every referenced blob, in address order.
    public func scrub(onFinding: @Sendable (Finding) -> Void = { _ in }) async throws -> Report {
        var report = Report()
        var after: BlobKey?
        let pace = Pace(bytesPerSecond: bytesPerSecond)
        while true {
            let page = try await referencedBlobs(after: after)
            for (key, size) in page {
                try Task.checkCancellation()
                let finding = try await check(key, size: size, pace: pace)
                report.checkedBlobs += 1
                report.checkedBytes += size
                try await database.withConnection { connection in
                    if let finding {
                        try DamagedBlobs.record(key, by: "scrubber", detail: finding.detail, on: connection)
                    } else {
                        try DamagedBlobs.clear(key, on: connection)
                    }
                }
                guard let finding else { continue }
                if finding.missing { report.missingBlobs += 1 } else { report.damagedBlobs += 1 }
                onFinding(Finding(key: key, detail: finding.detail))
            }
            guard page.count == Self.pageSize, let last = page.last else { return report }
            after = last.key
        }
    }

    /// Blobs some session or version refers to (only those are sure to be complete).
    private func referencedBlobs(after: BlobKey?) async throws -> [(key: BlobKey, size: Int64)] {
        try await database.withConnection { connection in
            try connection.execute("""
                SELECT b.scope, b.sha256, b.size FROM blobs b
                WHERE NOT b.deleting AND ($1::text IS NULL OR (b.scope, b.sha256) > ($1::text, $2::bytea))
                  AND (EXISTS (SELECT 1 FROM version_partitions vp WHERE vp.blob_scope = b.scope AND vp.sha256 = b.sha256)
                    OR EXISTS (SELECT 1 FROM session_partitions sp WHERE sp.blob_scope = b.scope AND sp.sha256 = b.sha256))
                ORDER BY b.scope, b.sha256 LIMIT $3
                """, [after.map { .text($0.scope) } ?? .null, .bytes(after?.sha256 ?? []), .int(Int64(Self.pageSize))]
            ).rows.map { row in
                (try BlobKey(scope: try row.string("scope"), sha256: try row.bytes("sha256")), try row.int("size"))
            }
        }
    }

    /// Re-hashes one blob; nil when intact.
    private func check(_ key: BlobKey, size: Int64, pace: Pace) async throws -> (missing: Bool, detail: String)? {
        var hasher = SHA256()
        do {
            for try await chunk in blobs.read(key, range: 0..<size, chunkSize: Self.chunkSize) {
                hasher.update(chunk)
                try await pace.account(Int64(chunk.count))
            }
        } catch let error as BlobError where error.meansStoredBytesAreGone {
            // The collector may have removed it since the page was read: only a blob still
            // referenced counts as missing.
            guard try await isStillReferenced(key) else { return nil }
            return (true, "\(error)")
        }
        let actual = hasher.finalize()
        return actual == key.sha256 ? nil : (false, "its \(size) bytes hash to \(Hex.encode(actual))")
    }

    private func isStillReferenced(_ key: BlobKey) async throws -> Bool {
        try await database.withConnection { connection in try BlobLiveness.isStillStored(key, on: connection) }
    }
}

/// Keeps reading at or below a rate: after each chunk, sleeps until the bytes read so far
/// are no longer ahead of the budget since the pass began.
private final class Pace: Sendable {
    let bytesPerSecond: Int64
    let start = ContinuousClock.now
    private let total = Mutex<Int64>(0)

    init(bytesPerSecond: Int64) {
        self.bytesPerSecond = bytesPerSecond
    }

    func account(_ bytes: Int64) async throws {
        guard bytesPerSecond > 0 else { return }
        let sum = total.withLock { total -> Int64 in
            total = total.addingReportingOverflow(bytes).overflow ? .max : total + bytes
            return total
        }
        let due = Duration.seconds(Double(sum) / Double(bytesPerSecond))
        let elapsed = ContinuousClock.now - start
        if due > elapsed { try await Task.sleep(for: due - elapsed) }
    }
}
