import Foundation
import SluiceProto
import SwiftProtobuf

/// How grants are printed by `share`, `unshare` and `shares`: as text lines, or as one JSON
/// object per grant (`--json`).
public enum GrantText {
    /// `SCOPE PATH ACCESS owner -> grantee`, for example `prefix docs/ read alice -> bob`.
    public static func line(_ grant: Sluice_V1_Grant) -> String {
        "\(scopeName(grant.scope)) \(grant.path) \(accessName(grant.access)) \(grant.owner) -> \(grant.grantee)"
    }

    /// One JSON object: direction ("mine" or "shared-with-me"), owner, grantee, scope, path,
    /// access, and the update time in RFC 3339.
    public static func json(_ grant: Sluice_V1_Grant, direction: String) -> String {
        let fields: [String: String] = [
            "direction": direction, "owner": grant.owner, "grantee": grant.grantee,
            "scope": scopeName(grant.scope), "path": grant.path, "access": accessName(grant.access),
            "updated": ISO8601DateFormatter().string(from: grant.updateTime.date),
        ]
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    public static func scopeName(_ scope: Sluice_V1_GrantScope) -> String {
        scope == .prefix ? "prefix" : "object"
    }

    public static func accessName(_ access: Sluice_V1_Access) -> String {
        access == .write ? "write" : "read"
    }
}
