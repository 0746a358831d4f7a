/// Wraps every call the dispatcher runs, around its handler: the one place for what all
/// handlers share — who the caller is, whether the call may start, how fast its bytes may
/// go, how its failures become statuses — so that handlers hold only their own logic (as
/// grpc-swift 2's server interceptors do).
public protocol CallInterceptor: Sendable {
    /// Runs the call by calling `next` once, or refuses it by throwing without calling it (an
    /// `RPCError`'s trailers reach the client). `next` runs the handler to its end, streaming
    /// included, so whatever the handler throws, mid-stream too, passes back through here and
    /// may be mapped to another error. A `meter` given to `next` paces and counts the call's
    /// message bytes. Values the handler needs (the caller's principal) go into the context
    /// (`ServerContext[_:]`) before `next` runs.
    func intercept(_ context: ServerContext, next: (_ meter: (any CallByteMeter)?) async throws -> Void) async throws
}
