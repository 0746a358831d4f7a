/// A storage setting sluiced cannot start with; the message says which and why.
struct StorageBootstrapError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
