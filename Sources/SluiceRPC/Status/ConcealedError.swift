/// A failure whose cause is for the operator, not the client: database errors, I/O errors,
/// anything internal. The client receives `code` and `publicMessage` plus the call's request id;
/// the server logs `cause` with the same id (`CallDispatcher` does both, in one place).
public struct ConcealedError: Error, Sendable, CustomStringConvertible {
    /// The status the client receives, e.g. UNAVAILABLE for a lost database connection.
    public var code: StatusCode
    /// What the client may know: what failed in general terms and what to do.
    public var publicMessage: String
    /// The full cause, logged only.
    public var cause: String
    /// Trailers the client receives with the status (a hint for its retry policy, say).
    public var trailers: Metadata

    public init(_ code: StatusCode, _ publicMessage: String, trailers: Metadata = [:], cause: any Error) {
        precondition(code != .ok, "a ConcealedError cannot carry OK")
        self.code = code
        self.publicMessage = publicMessage
        self.trailers = trailers
        self.cause = String(describing: cause)
    }

    public var description: String { "\(code): \(publicMessage) (cause: \(cause))" }
}
