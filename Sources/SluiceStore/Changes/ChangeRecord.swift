/// A change to record in the change log, inside the transaction that makes it.
public enum ChangeRecord: Sendable, Equatable {
    /// A new version of an object was committed (upload commit or restore).
    case versionCreated(ownerID: Int64, name: String, version: Int64, size: Int64, sha256: [UInt8], actorID: Int64)
    /// An object was deleted with every version.
    case objectDeleted(ownerID: Int64, name: String, actorID: Int64)
    /// A grant was made or changed; `actorID` is who made it (normally the owner).
    case grantAdded(ChangeGrant, actorID: Int64)
    /// A grant was revoked, as it was before.
    case grantRevoked(ChangeGrant, actorID: Int64)
}

/// A grant as the change log records it (the columns of the grants table).
public struct ChangeGrant: Sendable, Equatable {
    public var ownerID: Int64
    public var granteeID: Int64
    /// "object" or "prefix", as in the grants table.
    public var scope: String
    public var path: String
    /// "read" or "write", as in the grants table.
    public var access: String

    public init(ownerID: Int64, granteeID: Int64, scope: String, path: String, access: String) {
        self.ownerID = ownerID
        self.granteeID = granteeID
        self.scope = scope
        self.path = path
        self.access = access
    }
}
