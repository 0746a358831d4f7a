import SluiceRPC
import Testing

@testable import SluiceClient

/// The certificate hint follows only failures about the certificate; PERMISSION_DENIED, about
/// what a known principal may do, gets none.
@Suite struct FailureHintTests {
    @Test func certificateFailuresPointAtTheTLSSettings() {
        for error in [
            RPCError(.unauthenticated, "the certificate names nobody"),
            RPCError(.unavailable, "TLS failed: handshake: tlsv1 alert unknown ca"),
        ] {
            #expect(FailureHint.text(for: error)?.contains("--cert/--key") == true)
        }
    }

    @Test func permissionDeniedHasNoCertificateHint() {
        #expect(FailureHint.text(for: RPCError(.permissionDenied, "'alice' shares 'x' with you for reading only")) == nil)
        let exhausted = RetriesExhaustedError(operation: "op", attempts: 1, lastError: RPCError(.permissionDenied, "no"))
        #expect(FailureHint.text(for: exhausted) == nil)
    }

    @Test func otherKindsKeepTheirHints() {
        #expect(FailureHint.text(for: RPCError(.unavailable, "down"))?.contains("run the command again later") == true)
        #expect(FailureHint.text(for: RPCError(.notFound, "gone")) == nil)
    }
}
