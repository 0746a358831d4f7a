import Foundation
import SluiceProto

/// How `sluice usage` and `sluice admin` print: aligned text, or JSON (`--json`) with numbers
/// as JSON numbers.
public enum UsageText {
    /// The names `sluice admin limits` takes, in the order they print.
    public static let limitNames: [(name: String, limit: Sluice_V1_Limit)] = [
        ("quota-bytes", .quotaBytes), ("quota-objects", .quotaObjects), ("quota-sessions", .quotaSessions),
        ("rate-requests", .requestsPerSecond), ("rate-bytes-in", .bytesInPerSecond),
        ("rate-bytes-out", .bytesOutPerSecond),
    ]

    public static func name(of limit: Sluice_V1_Limit) -> String {
        limitNames.first { $0.limit == limit }?.name ?? "unknown"
    }

    public static func lines(_ usage: Sluice_V1_Usage) -> [String] {
        func limit(_ value: Int64) -> String { value == 0 ? "unlimited" : String(value) }
        var lines = [
            "principal:      \(usage.handle)",
            "logical bytes:  \(usage.logicalBytes) (every version)",
            "physical bytes: \(usage.physicalBytes) (after deduplication)",
            "objects:        \(usage.objects)",
            "versions:       \(usage.versions)",
            "open sessions:  \(usage.openSessions)" + (usage.granteeOpenSessions == 0 ? "" :
                " (\(usage.granteeOpenSessions) of them opened by grantees, counted by their session quotas)"),
            "reserved bytes: \(usage.reservedBytes) (declared by open sessions)",
            "quotas:         bytes \(limit(usage.quotas.bytes)), objects \(limit(usage.quotas.objects)), "
                + "sessions \(limit(usage.quotas.sessions))",
            "rate limits:    requests/s \(limit(usage.rateLimits.requestsPerSecond)), "
                + "bytes in/s \(limit(usage.rateLimits.bytesInPerSecond)), "
                + "bytes out/s \(limit(usage.rateLimits.bytesOutPerSecond))",
            "traffic (UTC day, uploaded, downloaded):",
        ]
        lines += usage.traffic.map { "  \($0.day)  \($0.uploadedBytes)  \($0.downloadedBytes)" }
        lines.append("by top-level prefix (prefix, logical bytes, objects, versions):")
        lines += usage.prefixes.map { "  \($0.prefix)  \($0.logicalBytes)  \($0.objects)  \($0.versions)" }
        if usage.omittedPrefixCount > 0 {
            let rest = usage.omittedPrefixes
            lines.append(
                "  (\(usage.omittedPrefixCount) smaller prefixes)  \(rest.logicalBytes)  \(rest.objects)  \(rest.versions)")
        }
        return lines
    }

    public static func json(_ usage: Sluice_V1_Usage) -> String {
        encode([
            "handle": usage.handle, "logical_bytes": usage.logicalBytes, "physical_bytes": usage.physicalBytes,
            "objects": usage.objects, "versions": usage.versions, "open_sessions": usage.openSessions,
            "grantee_open_sessions": usage.granteeOpenSessions,
            "reserved_bytes": usage.reservedBytes,
            "quotas": quotas(usage.quotas), "rate_limits": rates(usage.rateLimits),
            "traffic": usage.traffic.map {
                ["day": $0.day, "uploaded_bytes": $0.uploadedBytes, "downloaded_bytes": $0.downloadedBytes] as [String: Any]
            },
            "prefixes": usage.prefixes.map {
                ["prefix": $0.prefix, "logical_bytes": $0.logicalBytes, "objects": $0.objects, "versions": $0.versions]
                    as [String: Any]
            },
            "omitted_prefix_count": usage.omittedPrefixCount,
            "omitted_prefixes": [
                "logical_bytes": usage.omittedPrefixes.logicalBytes, "objects": usage.omittedPrefixes.objects,
                "versions": usage.omittedPrefixes.versions,
            ] as [String: Any],
        ])
    }

    /// `HANDLE IDENTITY [disabled] [admin] overrides`, one line per principal.
    public static func line(_ record: Sluice_V1_PrincipalRecord) -> String {
        var parts = [record.handle, record.identity]
        if record.disabled { parts.append("disabled") }
        if record.admin { parts.append("admin") }
        parts += record.overrides.map { "\(name(of: $0.limit))=\($0.value)" }
        return parts.joined(separator: "  ")
    }

    public static func json(_ record: Sluice_V1_PrincipalRecord) -> String {
        var overrides: [String: Any] = [:]
        for entry in record.overrides { overrides[name(of: entry.limit)] = entry.value }
        return encode([
            "handle": record.handle, "identity": record.identity, "disabled": record.disabled, "admin": record.admin,
            "created": ISO8601DateFormatter().string(from: record.createTime.date), "overrides": overrides,
            "quotas": quotas(record.quotas), "rate_limits": rates(record.rateLimits),
        ])
    }

    private static func quotas(_ quotas: Sluice_V1_Quotas) -> [String: Any] {
        ["bytes": quotas.bytes, "objects": quotas.objects, "sessions": quotas.sessions]
    }

    private static func rates(_ rates: Sluice_V1_RateLimits) -> [String: Any] {
        [
            "requests_per_second": rates.requestsPerSecond, "bytes_in_per_second": rates.bytesInPerSecond,
            "bytes_out_per_second": rates.bytesOutPerSecond,
        ]
    }

    private static func encode(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
