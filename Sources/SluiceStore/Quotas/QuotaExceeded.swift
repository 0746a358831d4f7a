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
    /// Whether the caller is that owner. A grantee writing into someone else's folder learns
    /// only that the owner's quota is full, not the owner's usage or limit: those sum up
    /// private objects too, and a refusal that stores nothing would otherwise let the grantee
    /// follow every private upload and delete by asking again.
    public var callerIsOwner: Bool

    public init(quota: Quota, limit: Int64, usage: Int64, requested: Int64, owner: String, callerIsOwner: Bool = true) {
        self.quota = quota
        self.limit = limit
        self.usage = usage
        self.requested = requested
        self.owner = owner
        self.callerIsOwner = callerIsOwner
    }

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
        guard callerIsOwner else {
            let amount = quota == .objects && requested == 1 ? "1 object" : "\(requested)\(unit)"
            return "\(quota.rawValue)\(whose) would be exceeded by this request (\(amount) more); "
                + "the owner can make room or ask an administrator for a larger quota"
        }
        return "\(quota.rawValue)\(whose) exceeded: limit \(limit)\(unit), usage \(usage)\(unit), "
            + "this request needs \(requested) more; \(advice)"
    }
}
