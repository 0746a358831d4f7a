extension BlobError {
    /// Whether the error says that bytes the metadata calls stored are gone or cut short
    /// (as opposed to storage being unreachable for now).
    var meansStoredBytesAreGone: Bool {
        switch self {
        case .notFound, .truncated, .rangeOutOfBounds: true
        default: false
        }
    }
}
