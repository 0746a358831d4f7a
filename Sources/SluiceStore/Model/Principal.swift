/// Who owns objects and sessions: the verified identity of a client certificate.
public struct Principal: Sendable, Hashable {
    /// The database id.
    public let id: Int64
    /// The certificate subject it was recorded under, for example `CN=alice`.
    public let name: String

    public init(id: Int64, name: String) {
        self.id = id
        self.name = name
    }
}
