import CCurl

/// Why a transfer ended without a complete HTTP response; every case is worth retrying except
/// a cancellation, which the caller asked for.
public enum HTTPTransferError: Error, CustomStringConvertible {
    /// libcurl failed: connecting, TLS, a dropped connection, a malformed response.
    case transport(CurlError)
    /// No byte moved for the stall timeout.
    case stalled(Duration)
    /// The request body could not be read from its file.
    case bodyUnreadable(path: String, errno: Int32)
    /// The caller cancelled the transfer or stopped reading its body.
    case cancelled

    /// Whether the request may have reached the server, and so may yet be carried out: false
    /// only when the connection was never made (a name not resolved, a connection refused, a
    /// TLS handshake that failed), before any byte of the request left.
    public var requestMayHaveArrived: Bool {
        guard case .transport(let error) = self else { return true }
        return ![CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT, CURLE_SSL_CONNECT_ERROR]
            .map(\.rawValue).contains(error.code)
    }

    public var description: String {
        switch self {
        case .transport(let error): "\(error)"
        case .stalled(let timeout): "no data moved for \(timeout); the connection was given up"
        case .bodyUnreadable(let path, let code): "reading the request body from \(path) failed (errno \(code))"
        case .cancelled: "the transfer was cancelled"
        }
    }
}
