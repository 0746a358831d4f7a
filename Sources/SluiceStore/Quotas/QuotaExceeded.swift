/// A request that would take a principal past one of its quotas (``StorageError/quotaExceeded(_:)``).
/// Nothing was stored or changed; the service layer answers RESOURCE_EXHAUSTED with `description`.
public struct QuotaExceeded: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Quota: String, Sendable {
        case bytes = "byte quota"
        case objects = "object quota"
        case sessions = "open-session quota"
    }

    public var quota: Quota
    public var limit: Int64
    /// What the principal uses now (reservations of open sessions included).
    public var usage: Int64
    /// What the refused request asked for on top.
    public var requested: Int64
    /// Whose quota: the owner's handle (the caller's own, or the owner it uploads into).
    public var owner: String

    public var description: String {
        let unit = switch quota {
        case .bytes: " bytes"
        case .objects: " objects"
        case .sessions: " open sessions"
        }
        let whose = owner.isEmpty ? "" : " of '\(owner)'"
        let advice = switch quota {
        case .bytes: "delete objects or versions, abort open sessions, or ask an administrator for a larger quota"
        case .objects: "delete objects, or ask an administrator for a larger quota"
        case .sessions: "commit or abort some (see ListSessions), or wait for them to expire"
        }
        return "\(quota.rawValue)\(whose) exceeded: limit \(limit)\(unit), usage \(usage)\(unit), "
            + "this request needs \(requested) more; \(advice)"
    }
}
