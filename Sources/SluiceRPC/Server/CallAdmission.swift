/// Decides, before its handler runs, whether a call may start, and meters the message bytes
/// it moves. The dispatcher consults it for every call, so a policy (who is refused, how fast
/// a caller may go) lives in one place rather than in each handler.
public protocol CallAdmission: Sendable {
    /// Throws an `RPCError` to refuse the call (its trailers reach the client); otherwise
    /// returns the meter for the call's bytes, or nil to leave them unmetered.
    func admit(_ context: ServerContext) async throws -> (any CallByteMeter)?
}

/// Paces and counts one call's message bytes. `received` and `sent` may suspend (that is
/// the pacing: a suspended reader stops handing back flow-control window, so the sender
/// slows down); they throw only when the call is cancelled.
public protocol CallByteMeter: Sendable {
    /// A request message of `bytes` arrived (before the handler sees it).
    func received(_ bytes: Int) async throws
    /// A response message of `bytes` is about to be sent.
    func sent(_ bytes: Int) async throws
    /// The call has ended.
    func finished()
}
