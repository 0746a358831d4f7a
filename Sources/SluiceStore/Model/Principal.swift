/// Who owns objects and sessions: the verified identity of a client certificate.
public struct Principal: Sendable, Hashable {
    /// The database id.
    public let id: Int64
    /// The certificate subject it was recorded under, for example `CN=alice`.
    public let name: String
    /// The readable name others share with (``PrincipalHandle``); empty when not known here.
    public let handle: String

    public init(id: Int64, name: String, handle: String = "") {
        self.id = id
        self.name = name
        self.handle = handle
    }

    /// Stands for an owner handle nobody holds: no object, grant or session matches its id
    /// (ids start at 1), so every call addressing it answers exactly as for a known owner
    /// who shares nothing with the caller, messages included.
    public static func unknown(handle: String) -> Principal {
        Principal(id: 0, name: "", handle: String(handle.prefix(PrincipalHandle.maxLength)))
    }
}
