import SluiceOpenSSL
import SluiceRPC

extension PeerIdentity {
    /// The RPC layer's view of a verified TLS client certificate.
    public init(_ certificate: CertificateIdentity) {
        self.init(
            subject: certificate.subject, commonName: certificate.commonName, dnsNames: certificate.dnsNames,
            ipAddresses: certificate.ipAddresses, uris: certificate.uris, emailAddresses: certificate.emailAddresses,
            otherNames: certificate.otherNames, notAfter: certificate.notAfter)
    }
}
