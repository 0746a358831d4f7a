import Foundation

/// One grant as stored, with both principals by handle.
public struct GrantRecord: Sendable, Equatable {
    public var owner: String
    public var grantee: String
    public var scope: GrantScope
    public var path: String
    public var access: GrantAccess
    public var updatedAt: Date
}
