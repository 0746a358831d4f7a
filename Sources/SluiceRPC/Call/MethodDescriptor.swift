/// Names one RPC method: its fully qualified service and its method name.
public struct MethodDescriptor: Sendable, Hashable, CustomStringConvertible {
    /// The fully qualified service name, for example `grpc.health.v1.Health`.
    public let service: String
    /// The method name as declared in the .proto file, for example `Check`.
    public let method: String

    public init(service: String, method: String) {
        self.service = service
        self.method = method
    }

    /// The HTTP/2 `:path` of the method: `/service/method`.
    public var path: String { "/\(service)/\(method)" }

    public var description: String { path }

    /// Parses a `:path`; nil unless it has the form `/service/method`.
    public init?(path: String) {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].isEmpty, !parts[1].isEmpty, !parts[2].isEmpty else { return nil }
        self.init(service: String(parts[1]), method: String(parts[2]))
    }
}
