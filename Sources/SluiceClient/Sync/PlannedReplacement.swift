/// What an upload was planned to replace, and from which listing: the versions committed
/// between it and the version the upload made, after that listing, are other devices' edits
/// the upload hid (kept as conflict copies). Saved in the state, so that a later run can
/// still tell them apart from versions that were already history when the upload was planned.
public struct PlannedReplacement: Codable, Sendable, Equatable {
    /// The remote version the upload was planned to replace; 0 when there was none.
    public var version: Int64
    /// That version's hex SHA-256; nil when there was none (or its hash was not known yet).
    public var sha256: String?
    /// The change-feed position of the listing the upload was planned from ("" from a
    /// server without one: every version in between is then taken as overtaken).
    public var listingCursor: String

    public init(replacing expected: RemoteFile?, listingCursor: String) {
        version = expected?.version ?? 0
        sha256 = expected.map(\.sha256)
        self.listingCursor = listingCursor
    }
}
