import SluiceProto
import SluiceRPC

/// The caller's upload sessions: listing (every page) and aborting.
public struct SessionCatalog: Sendable {
    private let sessions: Sluice_V1_UploadSessionServiceClient
    private let retry: RetryPolicy
    private let callOptions: CallOptions

    public init(client: RPCClient, retry: RetryPolicy = RetryPolicy(), callTimeout: Duration = .seconds(60)) {
        self.sessions = Sluice_V1_UploadSessionServiceClient(client)
        self.retry = retry
        self.callOptions = CallOptions(timeout: callTimeout)
    }

    /// Every session of the caller, newest first; only open ones with `openOnly`.
    public func list(openOnly: Bool, session: (Sluice_V1_UploadSession) throws -> Void) async throws {
        var request = Sluice_V1_ListSessionsRequest()
        request.openOnly = openOnly
        request.pageSize = 1000
        try await PageTokens.walk("listing of upload sessions", retry: retry) { token in
            request.pageToken = token
            return try await sessions.listSessions(request, options: callOptions)
        } each: { page in
            try page.sessions.forEach(session)
            return (page.nextPageToken, page.sessions.count)
        }
    }

    /// Abandons a session; its stored partitions are reclaimed by the server.
    public func abort(_ id: String) async throws -> Sluice_V1_UploadSession {
        var request = Sluice_V1_AbortSessionRequest()
        request.sessionID = id
        return try await retry.run("abort of session \(id)") {
            try await sessions.abortSession(request, options: callOptions)
        }
    }
}
