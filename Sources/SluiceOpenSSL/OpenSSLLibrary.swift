import COpenSSL

/// Process-wide set-up of OpenSSL, for executables.
public enum OpenSSLLibrary {
    /// Initializes OpenSSL without the clean-up it would otherwise run at exit.
    ///
    /// That clean-up frees OpenSSL's global locks while other threads may still be using them:
    /// a client returns from `main` as soon as its call is done, while an event-loop thread is
    /// still tearing down the closed connection's TLS session, and the process crashes on its
    /// way out (a NULL lock). The process's memory goes back to the system at exit anyway. Only
    /// the first initialization decides, so an executable calls this before anything else that
    /// touches OpenSSL (hashing included).
    public static func initializeWithoutExitCleanup() {
        guard OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil) == 1 else {
            fatalError("OpenSSL cannot initialize: \(OpenSSLError.capture("OPENSSL_init_crypto"))")
        }
    }
}
