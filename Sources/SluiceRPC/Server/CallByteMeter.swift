/// Paces and counts one call's body bytes (given by a `CallInterceptor`).
///
/// Pacing holds bytes back at the rate a principal may move them, a step at a time: request
/// bytes chunk by chunk as the transport hands them over (their flow-control window going back
/// to the client as each is paid for), response messages in pieces with the pause they owe
/// spread between them (`sending`). At any rate bytes keep moving every second or so, so no
/// client takes a paced call for a stalled one.
public protocol CallByteMeter: Sendable {
    /// Request bytes arrived from the transport (before the handler sees them); suspends while
    /// the principal owes their time (a suspended reader takes no more bytes, so no more
    /// flow-control window goes back to the client). Throws only when the call is cancelled,
    /// or its caller is no longer admitted.
    func received(_ bytes: Int) async throws
    /// Whether the call's requests are paced now (the principal is using up a byte rate it
    /// has); asked before each chunk is taken.
    var pacesRequests: Bool { get }
    /// A response message of `bytes` is about to be sent: answers how long the principal owes
    /// for it, for the sender to spread over the message's pieces (zero when not paced).
    /// Throws when its caller is no longer admitted.
    func sending(_ bytes: Int) async throws -> Duration
    /// The call has ended.
    func finished()
}
