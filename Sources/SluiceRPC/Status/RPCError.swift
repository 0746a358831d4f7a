/// The failure of a call: a non-OK status, a message for a person, and trailing metadata.
///
/// Handlers throw it to end a call with that status; clients receive it when a call fails.
public struct RPCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: StatusCode
    public var message: String
    public var trailers: Metadata

    public init(_ code: StatusCode, _ message: String, trailers: Metadata = [:]) {
        precondition(code != .ok, "an RPCError cannot carry OK")
        self.code = code
        self.message = message
        self.trailers = trailers
    }

    public var description: String { "\(code): \(message)" }
}
