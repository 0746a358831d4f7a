import Foundation
import SluiceProto

/// How `sluice watch` prints a change.
public enum ChangeText {
    static let kinds: [Sluice_V1_ChangeKind: String] = [
        .versionCreated: "version_created", .objectDeleted: "object_deleted",
        .grantAdded: "grant_added", .grantRevoked: "grant_revoked",
    ]

    /// `TIME KIND OWNER NAME vVERSION SIZE CURSOR` (owner "-" when the principal has no handle).
    public static func line(_ change: Sluice_V1_Change) -> String {
        let time = ISO8601DateFormatter().string(from: change.commitTime.date)
        let owner = change.owner.isEmpty ? "-" : change.owner
        var fields = [time, kinds[change.kind] ?? "unknown", owner, change.name]
        switch change.kind {
        case .versionCreated: fields += ["v\(change.version)", "\(change.size)"]
        case .grantAdded, .grantRevoked:
            fields += [change.grant.grantee, change.grant.access == .write ? "write" : "read"]
        default: break
        }
        return (fields + [change.cursor]).joined(separator: " ")
    }

    /// One JSON object with the change's fields.
    public static func json(_ change: Sluice_V1_Change) -> String {
        var object: [String: Any] = [
            "cursor": change.cursor, "kind": kinds[change.kind] ?? "unknown", "owner": change.owner,
            "name": change.name, "actor": change.actor,
            "commit_time": ISO8601DateFormatter().string(from: change.commitTime.date),
        ]
        if change.kind == .versionCreated {
            object["version"] = change.version
            object["size"] = change.size
            object["sha256"] = change.sha256.map { String(format: "%02x", $0) }.joined()
        }
        if change.hasGrant {
            object["grantee"] = change.grant.grantee
            object["access"] = change.grant.access == .write ? "write" : "read"
            object["scope"] = change.grant.scope == .object ? "object" : "prefix"
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
