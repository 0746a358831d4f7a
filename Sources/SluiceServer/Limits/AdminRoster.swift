/// The principals named with `--admin`: the identities (as `--principal-from` names them)
/// that may call AdminService.
public struct AdminRoster: Sendable {
    /// Keyed by UTF-8 bytes: canonically equivalent spellings are different identities.
    private let identities: Set<[UInt8]>

    public init(_ identities: [String]) {
        self.identities = Set(identities.map { Array($0.utf8) })
    }

    public func contains(_ identity: String) -> Bool {
        identities.contains(Array(identity.utf8))
    }
}
