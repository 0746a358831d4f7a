/// Paces and counts one call's message bytes (given by a `CallInterceptor`). `received` and
/// `sent` may suspend (that is the pacing: a suspended reader stops handing back flow-control
/// window, so the sender slows down); they throw only when the call is cancelled.
public protocol CallByteMeter: Sendable {
    /// A request message of `bytes` arrived (before the handler sees it).
    func received(_ bytes: Int) async throws
    /// A response message of `bytes` is about to be sent.
    func sent(_ bytes: Int) async throws
    /// The call has ended.
    func finished()
}
