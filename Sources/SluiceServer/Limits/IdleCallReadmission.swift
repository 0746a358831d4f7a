import SluiceRPC

/// The meter of a call, kept in its context for a handler that waits between messages
/// (`WatchChanges`): while it waits no message moves, so nothing else would admit its caller
/// again, and a principal disabled meanwhile would keep its watch until the next heartbeat.
enum IdleCallReadmission: ServerContextKey {
    typealias Value = PrincipalByteMeter
}

extension ServerContext {
    /// Admits the call's caller again (see `PrincipalByteMeter.admitAgain()`); throws
    /// PERMISSION_DENIED once its principal is disabled. Nothing to do for a call no limit
    /// admitted.
    func admitCallerAgain() async throws {
        try await self[IdleCallReadmission.self]?.admitAgain()
    }
}
