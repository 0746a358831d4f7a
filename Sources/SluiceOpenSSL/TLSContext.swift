import COpenSSL

/// Shared TLS settings for many connections: certificates, trust, versions and ALPN.
///
/// Both roles require TLS 1.2 or newer and offer only the ALPN protocol "h2"; a peer that
/// does not speak h2 is refused during the handshake. An `SSL_CTX` is safe to share across
/// threads once configured, which is why this type is Sendable.
// Safe because the SSL_CTX is immutable once configured, and OpenSSL allows sharing it across threads then.
public final class TLSContext: @unchecked Sendable {
    /// Which side of the handshake connections made from this context play.
    public enum Role: Sendable { case server, client }

    let context: OpaquePointer
    public let role: Role

    /// A server context. With `clientCAPath`, client certificates are requested and must
    /// chain to that CA; with `requireClientCertificate` too, a client without one fails the
    /// handshake.
    public static func server(
        certificateChainPath: String, privateKeyPath: String, clientCAPath: String?,
        requireClientCertificate: Bool
    ) throws -> TLSContext {
        let tls = try TLSContext(role: .server)
        try tls.loadIdentity(certificateChainPath: certificateChainPath, privateKeyPath: privateKeyPath)
        if let clientCAPath {
            try tls.loadTrustRoots(clientCAPath)
            guard let names = SSL_load_client_CA_file(clientCAPath) else {
                throw OpenSSLError.capture("reading client CA names from \(clientCAPath)")
            }
            SSL_CTX_set_client_CA_list(tls.context, names)
            let mode = SSL_VERIFY_PEER | (requireClientCertificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0)
            SSL_CTX_set_verify(tls.context, mode, nil)
        } else if requireClientCertificate {
            throw OpenSSLError(operation: "a client certificate is required but no client CA is configured", details: [])
        }
        SSL_CTX_set_alpn_select_cb(tls.context, { _, selected, selectedLength, offered, offeredLength, _ in
            guard let selected, let selectedLength, let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
            var index = 0
            while index < Int(offeredLength) {
                let length = Int(offered[index])
                let start = index + 1
                if length == 2, start + 2 <= Int(offeredLength),
                   offered[start] == UInt8(ascii: "h"), offered[start + 1] == UInt8(ascii: "2") {
                    selected.pointee = offered + start
                    selectedLength.pointee = 2
                    return SSL_TLSEXT_ERR_OK
                }
                index = start + length
            }
            return SSL_TLSEXT_ERR_ALERT_FATAL
        }, nil)
        return tls
    }

    /// A client context. Server certificates must chain to `trustRootsPath` (or the system
    /// roots when nil); `certificateChainPath` and `privateKeyPath` give the client's own
    /// certificate for mutual TLS.
    public static func client(
        trustRootsPath: String?, certificateChainPath: String?, privateKeyPath: String?
    ) throws -> TLSContext {
        let tls = try TLSContext(role: .client)
        if let trustRootsPath {
            try tls.loadTrustRoots(trustRootsPath)
        } else if SSL_CTX_set_default_verify_paths(tls.context) != 1 {
            throw OpenSSLError.capture("loading the system trust roots")
        }
        if let certificateChainPath, let privateKeyPath {
            try tls.loadIdentity(certificateChainPath: certificateChainPath, privateKeyPath: privateKeyPath)
        }
        SSL_CTX_set_verify(tls.context, SSL_VERIFY_PEER, nil)
        let protocols: [UInt8] = [2, UInt8(ascii: "h"), UInt8(ascii: "2")]
        guard SSL_CTX_set_alpn_protos(tls.context, protocols, UInt32(protocols.count)) == 0 else {
            throw OpenSSLError.capture("setting ALPN")
        }
        return tls
    }

    private init(role: Role) throws {
        guard let context = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw OpenSSLError.capture("SSL_CTX_new")
        }
        self.context = context
        self.role = role
        guard sluice_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION) == 1 else {
            throw OpenSSLError.capture("requiring TLS 1.2 or newer")
        }
        // Partial writes let the memory BIO take what fits; the buffer may move between retries.
        _ = sluice_SSL_CTX_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
    }

    deinit { SSL_CTX_free(context) }

    private func loadIdentity(certificateChainPath: String, privateKeyPath: String) throws {
        guard SSL_CTX_use_certificate_chain_file(context, certificateChainPath) == 1 else {
            throw OpenSSLError.capture("loading certificate chain \(certificateChainPath)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw OpenSSLError.capture("loading private key \(privateKeyPath)")
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw OpenSSLError.capture("private key \(privateKeyPath) does not match \(certificateChainPath)")
        }
    }

    /// Trusts the certificates in `path`, each as an anchor in its own right: an intermediate CA
    /// named there is enough (a chain need not go on to a self-signed root), so an operator can
    /// admit the clients of one issuing CA without every other CA under the same root.
    private func loadTrustRoots(_ path: String) throws {
        guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else {
            throw OpenSSLError.capture("loading trusted CA certificates from \(path)")
        }
        guard X509_STORE_set_flags(SSL_CTX_get_cert_store(context), UInt(X509_V_FLAG_PARTIAL_CHAIN)) == 1 else {
            throw OpenSSLError.capture("trusting intermediate CAs from \(path)")
        }
    }
}
