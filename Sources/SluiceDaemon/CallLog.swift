import Logging
import SluiceDuration
import SluiceRPC

/// The log line of each ended call, written from the dispatcher's one summary of every call.
///
/// With the access log on, every call gets an info line carrying method, principal, status,
/// bytes in and out, duration and the request id the client received in `sluice-request-id`.
/// With it off, successful calls log at debug only. Failures always log at info, internal
/// failures (with their concealed cause) at error — but at warning when the call was answered
/// UNAVAILABLE (the database or S3 out of reach: expected now and then, and retried by
/// clients). Values are escaped by the log handler.
struct CallLog: Sendable {
    let logger: Logger
    let accessLog: Bool
    /// How a certificate names its principal; nil where the server has no principals (the
    /// line then shows the certificate's subject).
    let principalMapping: PrincipalMapping?

    func record(_ call: CallDispatcher.CallSummary) {
        let level: Logger.Level =
            switch (call.code, call.cause) {
            case (.ok, _): accessLog ? .info : .debug
            case (_, nil): .info
            case (.unavailable, _): .warning
            default: .error
            }
        // Most calls succeed: with their line filtered out, build nothing (the principal takes work).
        guard logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [
            "method": "\(call.path)", "status": "\(call.code)", "principal": "\(principal(of: call.peer))",
            "remote": "\(call.remoteAddress ?? "-")", "request_id": "\(call.requestID ?? "-")",
            "bytes_in": "\(call.receivedBytes)", "bytes_out": "\(call.sentBytes)",
            "duration_ms": "\(call.duration.inSeconds * 1000)",
        ]
        if call.code == .ok {
            logger.log(level: level, "call", metadata: metadata)
        } else if let cause = call.cause {
            metadata["error"] = "\(call.message)"
            metadata["cause"] = "\(cause)"
            logger.log(level: level, "call failed internally", metadata: metadata)
        } else {
            metadata["error"] = "\(call.message)"
            logger.log(level: level, "call failed", metadata: metadata)
        }
    }

    private func principal(of peer: PeerIdentity?) -> String {
        guard let peer else { return "-" }
        guard let principalMapping else { return peer.description }
        return (try? principalMapping.principalName(of: peer)) ?? "-"
    }
}
