import SluiceProto

/// One line of a folder-style listing: a rolled-up prefix or an object.
public enum ListingEntry: Sendable {
    case prefix(String)
    case object(Sluice_V1_ObjectInfo)

    /// The name the entry sorts by.
    public var name: String {
        switch self {
        case .prefix(let prefix): prefix
        case .object(let object): object.name
        }
    }
}
