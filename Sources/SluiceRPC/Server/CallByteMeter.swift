/// Paces and counts one call's body bytes (given by a `CallInterceptor`).
///
/// Pacing holds bytes back at the rate a principal may move them, charged as they move, a step
/// at a time: a request chunk is paid for a step at a time, each step's flow-control window
/// going back to the client once paid for; a response message goes out in steps, each paid for
/// before it is sent.
/// A step is about a second's worth of the rate shared among the principal's calls, so every
/// call moves every second or so, however low the rate and however many calls share it, and
/// bytes that never moved (a cancelled download's rest) are never charged.
public protocol CallByteMeter: Sendable {
    /// Request bytes were taken from the transport (before the handler sees them): answers how
    /// long the principal owes for them, to wait before their window goes back (zero when not
    /// paced). Throws when the caller is no longer admitted.
    func received(_ bytes: Int) async throws -> Duration
    /// Whether the call's requests are paced now (the principal is using up a byte rate it
    /// has); asked before each chunk is taken.
    var pacesRequests: Bool { get }
    /// The most request bytes paid for, and whose window goes back, in one step; nil when not
    /// paced.
    var requestStep: Int? { get }
    /// Response bytes are about to be sent: answers how long the principal owes for them, to
    /// wait before sending them (zero when not paced). Throws when the caller is no longer
    /// admitted.
    func sending(_ bytes: Int) async throws -> Duration
    /// The most response bytes sent in one step; nil when responses are not paced (a message
    /// goes out whole).
    var responseStep: Int? { get }
    /// The call has ended.
    func finished()
}
