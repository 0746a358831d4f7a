import COpenSSL

extension CertificateIdentity {
    /// Reads the names of the first certificate in a PEM file (a client's own certificate,
    /// for example, to show whom it identifies).
    public init(pemFile path: String) throws {
        guard let bio = BIO_new_file(path, "r") else {
            throw OpenSSLError.capture("opening certificate \(path)")
        }
        defer { BIO_free(bio) }
        guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else {
            throw OpenSSLError.capture("reading a PEM certificate from \(path)")
        }
        defer { X509_free(certificate) }
        self.init(certificate: certificate)
    }
}
