/// One HTTP/2 header field, as exchanged between the RPC layer and a transport.
public struct HeaderField: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): \(value)" }
}

extension Array where Element == HeaderField {
    /// The value of the first field with this name.
    public func first(named name: String) -> String? {
        first { $0.name == name }?.value
    }
}
