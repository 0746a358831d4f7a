import Foundation

/// One change read back from the log, with principals named by their handles ("" for a
/// principal that has none yet).
public struct ChangeEvent: Sendable, Equatable {
    /// What happened (the kind column of the changes table).
    public enum Kind: String, Sendable {
        case versionCreated = "version_created"
        case objectDeleted = "object_deleted"
        case grantAdded = "grant_added"
        case grantRevoked = "grant_revoked"
    }

    public var cursor: ChangeCursor
    public var kind: Kind
    public var owner: String
    /// The object name, or the grant's path.
    public var name: String
    public var actor: String
    public var committedAt: Date
    public var version: Int64
    public var size: Int64
    public var sha256: [UInt8]
    /// For grant changes: the grantee's handle, the scope ("object"/"prefix") and access ("read"/"write").
    public var grantee: String
    public var grantScope: String
    public var grantAccess: String
}

/// A stretch of the log read for one caller.
public struct ChangePage: Sendable {
    /// The changes the caller can see, in commit order.
    public var changes: [ChangeEvent]
    /// Where the next read resumes: the last change returned, or past changes the caller cannot
    /// see when fewer than asked for were found.
    public var through: ChangeCursor
    /// The newest position at the time of the read.
    public var head: ChangeCursor

    /// Whether nothing committed after `through` at the time of the read.
    public var caughtUp: Bool { through >= head }
}
