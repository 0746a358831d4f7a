import Foundation
import SluicePostgres

/// A principal's usage, computed from what is stored.
public struct UsageReport: Sendable, Equatable {
    /// Message bytes of one UTC day.
    public struct Day: Sendable, Equatable {
        /// YYYY-MM-DD.
        public var day: String
        public var uploadedBytes: Int64
        public var downloadedBytes: Int64
    }

    /// Usage under one top-level prefix.
    public struct Prefix: Sendable, Equatable {
        public var prefix: String
        public var logicalBytes: Int64
        public var objects: Int64
        public var versions: Int64
    }

    public var logicalBytes: Int64 = 0
    public var physicalBytes: Int64 = 0
    public var objects: Int64 = 0
    public var versions: Int64 = 0
    /// Open sessions the principal opened, and those its grantees opened into its folder:
    /// the sessions behind ``reservedBytes`` are all counted, so usage explains a reservation.
    public var openSessions: Int64 = 0
    /// Of ``openSessions``, those its grantees opened into its folder: each counts against
    /// the session quota of the grantee that opened it, not the owner's.
    public var granteeOpenSessions: Int64 = 0
    /// Bytes declared by open sessions uploading into the principal's objects, as the quota
    /// checks count them (``QuotaReservation/reservedBytesSQL(owner:)``: also a minute past a
    /// session's expiry).
    public var reservedBytes: Int64 = 0
    public var traffic: [Day] = []
    /// Per top-level prefix, in name order: at most ``UsageLedger/maxPrefixes``, those with the
    /// most logical bytes.
    public var prefixes: [Prefix] = []
    /// How many top-level prefixes ``prefixes`` leaves out.
    public var omittedPrefixCount: Int64 = 0
    /// What the prefixes left out hold together (``Prefix/prefix`` empty; all zero when none is).
    public var omittedPrefixes = Prefix(prefix: "", logicalBytes: 0, objects: 0, versions: 0)
    /// The principal's stored settings (for the effective limits).
    public var settings = PrincipalSettings()
}

/// Usage figures, and the per-day traffic the server records.
public final class UsageLedger: Sendable {
    let database: PostgresPool

    public init(database: PostgresPool) {
        self.database = database
    }

    /// Most days of traffic one report covers.
    public static let maxDays = 90

    /// Most top-level prefixes one report lists: a name is up to 1,024 bytes, so 500 of them
    /// encode to at most about 530 KB, far below gRPC's default 4 MiB receive limit, however
    /// many objects a principal has at the top level.
    public static let maxPrefixes = 500

    /// `principal`'s usage, with traffic for the last `days` UTC days (today included).
    public func report(for principal: Principal, days: Int) async throws -> UsageReport {
        let days = days == 0 ? 7 : days
        guard (1...Self.maxDays).contains(days) else {
            throw StorageError.invalidArgument("days must be 0 (for 7) to \(Self.maxDays), got \(days)")
        }
        return try await database.transaction { connection in
            // One snapshot for every figure, so they agree with each other.
            _ = try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            var report = UsageReport()
            let totals = try connection.execute("""
                SELECT
                    (SELECT coalesce(sum(v.size), 0) FROM objects o JOIN object_versions v ON v.object_id = o.id
                     WHERE o.principal_id = $1)::bigint AS logical_bytes,
                    (SELECT count(*) FROM objects o JOIN object_versions v ON v.object_id = o.id
                     WHERE o.principal_id = $1)::bigint AS versions,
                    (SELECT count(*) FROM objects o WHERE o.principal_id = $1)::bigint AS objects,
                    (SELECT coalesce(sum(d.size), 0) FROM (
                        SELECT DISTINCT vp.blob_scope, vp.sha256, vp.size FROM objects o
                        JOIN version_partitions vp ON vp.object_id = o.id WHERE o.principal_id = $1) d)::bigint
                        AS physical_bytes,
                    (SELECT count(*) FROM upload_sessions s
                     WHERE (s.principal_id = $1 OR s.owner_id = $1) AND s.state = 'open'
                       AND s.expires_at > now())::bigint AS open_sessions,
                    (SELECT count(*) FROM upload_sessions s
                     WHERE s.owner_id = $1 AND s.principal_id <> $1 AND s.state = 'open'
                       AND s.expires_at > now())::bigint AS grantee_open_sessions,
                    \(QuotaReservation.reservedBytesSQL(owner: "$1")) AS reserved_bytes
                """, [.int(principal.id)]).rows.first
            if let totals {
                report.logicalBytes = try totals.int("logical_bytes")
                report.versions = try totals.int("versions")
                report.objects = try totals.int("objects")
                report.physicalBytes = try totals.int("physical_bytes")
                report.openSessions = try totals.int("open_sessions")
                report.granteeOpenSessions = try totals.int("grantee_open_sessions")
                report.reservedBytes = try totals.int("reserved_bytes")
            }
            // The largest prefixes (ties by name), listed in name order; each row also carries the
            // count and sums of every prefix, so the summary of the rest needs no second statement.
            let prefixRows = try connection.execute("""
                SELECT * FROM (
                    SELECT p.prefix, sum(p.bytes)::bigint AS logical_bytes, count(DISTINCT p.id)::bigint AS objects,
                        count(*)::bigint AS versions, count(*) OVER ()::bigint AS prefix_count,
                        (sum(sum(p.bytes)) OVER ())::bigint AS all_logical_bytes,
                        (sum(count(DISTINCT p.id)) OVER ())::bigint AS all_objects,
                        (sum(count(*)) OVER ())::bigint AS all_versions
                    FROM (SELECT o.id, v.size AS bytes,
                            CASE WHEN strpos(o.name, '/') > 0 THEN left(o.name, strpos(o.name, '/')) ELSE o.name END
                                COLLATE "C" AS prefix
                          FROM objects o JOIN object_versions v ON v.object_id = o.id WHERE o.principal_id = $1) p
                    GROUP BY p.prefix ORDER BY logical_bytes DESC, p.prefix LIMIT $2
                ) largest ORDER BY prefix
                """, [.int(principal.id), .int(Int64(Self.maxPrefixes))]).rows
            report.prefixes = try prefixRows.map {
                UsageReport.Prefix(
                    prefix: try $0.string("prefix"), logicalBytes: try $0.int("logical_bytes"),
                    objects: try $0.int("objects"), versions: try $0.int("versions"))
            }
            if let all = prefixRows.first {
                report.omittedPrefixCount = try all.int("prefix_count") - Int64(prefixRows.count)
                report.omittedPrefixes = UsageReport.Prefix(
                    prefix: "",
                    logicalBytes: try all.int("all_logical_bytes") - report.prefixes.reduce(0) { $0 + $1.logicalBytes },
                    objects: try all.int("all_objects") - report.prefixes.reduce(0) { $0 + $1.objects },
                    versions: try all.int("all_versions") - report.prefixes.reduce(0) { $0 + $1.versions })
            }
            report.traffic = try connection.execute("""
                SELECT to_char(d.day, 'YYYY-MM-DD') AS day, coalesce(t.uploaded_bytes, 0)::bigint AS uploaded_bytes,
                    coalesce(t.downloaded_bytes, 0)::bigint AS downloaded_bytes
                FROM generate_series((now() AT TIME ZONE 'UTC')::date - ($2::int - 1), (now() AT TIME ZONE 'UTC')::date,
                    interval '1 day') AS d(day)
                LEFT JOIN principal_traffic t ON t.principal_id = $1 AND t.day = d.day::date
                ORDER BY d.day
                """, [.int(principal.id), .int(Int64(days))]).rows.map {
                    UsageReport.Day(
                        day: try $0.string("day"), uploadedBytes: try $0.int("uploaded_bytes"),
                        downloadedBytes: try $0.int("downloaded_bytes"))
                }
            report.settings = try PrincipalSettingsStore.load(principal.id, on: connection)
            return report
        }
    }

    /// Adds message bytes to principals' traffic of today (UTC): principal id → (in, out).
    public func recordTraffic(_ counts: [Int64: (uploaded: Int64, downloaded: Int64)]) async throws {
        guard !counts.isEmpty else { return }
        let ids = counts.keys.sorted()
        try await database.withConnection { connection in
            _ = try connection.execute("""
                INSERT INTO principal_traffic (principal_id, day, uploaded_bytes, downloaded_bytes)
                SELECT t.id, (now() AT TIME ZONE 'UTC')::date, t.up, t.down
                FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS t(id, up, down)
                ON CONFLICT (principal_id, day) DO UPDATE
                SET uploaded_bytes = principal_traffic.uploaded_bytes + EXCLUDED.uploaded_bytes,
                    downloaded_bytes = principal_traffic.downloaded_bytes + EXCLUDED.downloaded_bytes
                """, [
                    .text("{" + ids.map(String.init).joined(separator: ",") + "}"),
                    .text("{" + ids.map { String(counts[$0]!.uploaded) }.joined(separator: ",") + "}"),
                    .text("{" + ids.map { String(counts[$0]!.downloaded) }.joined(separator: ",") + "}"),
                ])
        }
    }
}
