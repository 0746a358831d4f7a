import COpenSSL
import NIOCore

/// One TLS session driven through memory buffers: the caller moves ciphertext between
/// the network and this object, and plaintext between this object and HTTP/2.
///
/// Not thread-safe: a connection is used from its one event loop.
public final class TLSConnection {
    /// What reading plaintext found.
    public enum ReadOutcome: Equatable {
        /// All available ciphertext was processed; more may come.
        case needMoreData
        /// The peer sent close_notify (also before the handshake ended: the peer closed the
        /// connection, it did not refuse it; a refusal is a fatal alert, which throws).
        case closed
    }

    private let ssl: OpaquePointer
    private let networkIn: OpaquePointer
    private let networkOut: OpaquePointer
    public private(set) var isHandshakeComplete = false

    /// Starts a session. A client names the server it expects: the certificate must match
    /// that DNS name or IP address, and the name is sent as SNI.
    public init(context: TLSContext, serverName: String? = nil) throws {
        guard let ssl = SSL_new(context.context) else { throw OpenSSLError.capture("SSL_new") }
        guard let networkIn = BIO_new(BIO_s_mem()), let networkOut = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw OpenSSLError.capture("BIO_new")
        }
        self.ssl = ssl
        self.networkIn = networkIn
        self.networkOut = networkOut
        SSL_set_bio(ssl, networkIn, networkOut)
        switch context.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let serverName {
                try expectServerName(serverName)
            }
        }
    }

    deinit { SSL_free(ssl) }

    /// Hands ciphertext received from the network to OpenSSL.
    public func receiveCiphertext(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            _ = BIO_write(networkIn, base, Int32(bytes.count))
        }
    }

    /// Advances the handshake, then decrypts all available application data into
    /// `plaintext`. Throws when the handshake or a record fails.
    public func readPlaintext(into plaintext: inout ByteBuffer) throws -> ReadOutcome {
        // The error queue is per thread and shared by every connection on it: a stale
        // entry from another connection would make SSL_get_error misreport this one.
        ERR_clear_error()
        if !isHandshakeComplete {
            let result = SSL_do_handshake(ssl)
            if result != 1 {
                let error = SSL_get_error(ssl, result)
                if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return .needMoreData }
                if error == SSL_ERROR_ZERO_RETURN {
                    ERR_clear_error()
                    return .closed
                }
                throw handshakeFailure(error)
            }
            isHandshakeComplete = true
        }
        while true {
            var outcome = Int32(0)
            let read = plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { buffer in
                outcome = SSL_read(ssl, buffer.baseAddress, Int32(min(buffer.count, Int(Int32.max))))
                return max(0, Int(outcome))
            }
            if read > 0 { continue }
            let error = SSL_get_error(ssl, outcome)
            switch error {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needMoreData
            case SSL_ERROR_ZERO_RETURN: return .closed
            default: throw OpenSSLError.capture("TLS read failed (SSL error \(error))")
            }
        }
    }

    /// Encrypts application data. The outgoing memory buffer grows as needed, so all bytes
    /// are taken at once; callers bound what they write by their own flow control.
    public func writePlaintext(_ bytes: UnsafeRawBufferPointer) throws {
        ERR_clear_error()
        var offset = 0
        while offset < bytes.count {
            let written = SSL_write(ssl, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, 1 << 20)))
            guard written > 0 else {
                throw OpenSSLError.capture("TLS write failed (SSL error \(SSL_get_error(ssl, written)))")
            }
            offset += Int(written)
        }
    }

    /// Moves every pending ciphertext byte (handshake messages and records) into `buffer`.
    public func takeCiphertext(into buffer: inout ByteBuffer) {
        while true {
            let pending = Int(BIO_ctrl_pending(networkOut))
            if pending == 0 { return }
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { target in
                Int(max(0, BIO_read(networkOut, target.baseAddress, Int32(pending))))
            }
        }
    }

    /// Whether ciphertext is waiting to be sent.
    public var hasPendingCiphertext: Bool { BIO_ctrl_pending(networkOut) > 0 }

    /// Queues close_notify; send it with `takeCiphertext`.
    public func shutdown() {
        guard isHandshakeComplete else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    /// The protocol chosen through ALPN, for example "h2"; nil when none was.
    public var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// The negotiated protocol version, for example "TLSv1.3".
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// The peer's certificate identity, only when the certificate was verified.
    public var verifiedPeer: CertificateIdentity? {
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(certificate) }
        guard SSL_get_verify_result(ssl) == X509_V_OK else { return nil }
        return CertificateIdentity(certificate: certificate)
    }

    private func expectServerName(_ name: String) throws {
        let isIPAddress = name.contains(":") || name.allSatisfy { $0.isNumber || $0 == "." }
        if isIPAddress {
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) == 1 else {
                throw OpenSSLError.capture("expecting server address \(name)")
            }
        } else {
            guard SSL_set1_host(ssl, name) == 1, sluice_SSL_set_tlsext_host_name(ssl, name) == 1 else {
                throw OpenSSLError.capture("expecting server name \(name)")
            }
        }
    }

    private func handshakeFailure(_ error: Int32) -> OpenSSLError {
        let codes = OpenSSLError.drainErrorCodes()
        var details = codes.map(OpenSSLError.text)
        if codes.contains(where: OpenSSLError.meansNoTLS) { details.insert(OpenSSLError.peerSpeaksNoTLS, at: 0) }
        let verify = SSL_get_verify_result(ssl)
        if verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH {
            details.insert(OpenSSLError.serverNameMismatch, at: 0)
        }
        if verify != X509_V_OK {
            details.append("certificate verification: \(String(cString: X509_verify_cert_error_string(Int(verify))))")
        }
        return OpenSSLError(operation: "TLS handshake failed (SSL error \(error))", details: details)
    }
}
