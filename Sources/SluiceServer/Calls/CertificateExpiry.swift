import Foundation
import SluiceRPC

/// Refuses calls on a connection whose client certificate has expired since its handshake.
///
/// TLS checks a certificate once, when the connection is made, and a connection may live for
/// days (a sync device's watch, a client that keeps it busy). Without this, an identity whose
/// certificate was not renewed (or was issued short-lived on purpose) would keep its access for
/// as long as its connection lasts. ``LimitAdmission`` checks each call when it starts and
/// whenever its caller is admitted again while it runs, so a long transfer or watch ends too.
enum CertificateExpiry {
    /// Throws UNAUTHENTICATED when `notAfter` (seconds since the Unix epoch) has passed.
    static func requireUnexpired(_ notAfter: Int64?, now: Date = Date()) throws(RPCError) {
        guard let notAfter, Int64(now.timeIntervalSince1970) > notAfter else { return }
        let expiry = Date(timeIntervalSince1970: TimeInterval(notAfter)).formatted(.iso8601)
        throw RPCError(
            .unauthenticated,
            "the client certificate of this connection expired at \(expiry); calls on it are refused from then on: "
                + "connect again with a renewed certificate")
    }
}
