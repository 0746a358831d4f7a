import SluiceOpenSSL
import SluiceRPC

/// The one line of advice printed after a failure's message, when there is advice that fits:
/// the one place where failures are matched to what the user can do about them.
public enum FailureHint {
    /// What to do after `error`, or nil when its message says all there is.
    ///
    /// Exit code 4 covers two different things. A refused TLS handshake or UNAUTHENTICATED is
    /// about the certificate: the settings to check are --cert, --key and --ca. PERMISSION_DENIED
    /// is about what a known principal may do (a read-only grant, an administrator's command, a
    /// disabled principal); the server's message says which, and pointing at the TLS settings
    /// would send the user the wrong way, so it gets no hint.
    public static func text(for error: any Error) -> String? {
        switch FailureKind(error) {
        case .denied where rpcError(in: error)?.code == .permissionDenied:
            nil
        case .denied where rpcError(in: error)?.message.contains(OpenSSLError.peerSpeaksNoTLS) == true:
            "check --server: it must be the host and port sluiced serves TLS on"
        case .denied where rpcError(in: error)?.message.contains(OpenSSLError.serverNameMismatch) == true:
            "check --server (or --server-name): connect by a name or address the server's certificate holds"
        case .denied:
            "check --cert/--key (the server must accept the certificate) and --ca (it must verify the server)"
        case .transient where rpcError(in: error)?.trailers.firstString("sluice-unavailable") == "database":
            "the server answered, but its metadata database is unavailable; run the command again later "
                + "(an upload or download resumes where it stopped)"
        case .transient:
            "the server could not be reached or stayed busy; run the command again later "
                + "(an upload or download resumes where it stopped)"
        case .serverOutOfSpace:
            "the server is out of storage space; what was sent is kept, run the same upload again to resume once space was freed"
        case .quotaExceeded:
            "`sluice usage` shows what you store and your quotas"
        default:
            nil
        }
    }

    /// The server's answer behind an error, also after the retries ran out.
    private static func rpcError(in error: any Error) -> RPCError? {
        switch error {
        case let error as RPCError: error
        case let error as RetriesExhaustedError: error.lastError
        default: nil
        }
    }
}
