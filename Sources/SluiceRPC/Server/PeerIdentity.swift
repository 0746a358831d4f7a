/// Who is calling: the verified client certificate of a mutual-TLS connection.
///
/// Only a certificate that chained to the configured client CA produces an identity; a
/// connection without one has none.
public struct PeerIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The certificate's subject, one-line RFC 2253 form, for example `CN=alice,O=Example`.
    public var subject: String
    /// The subject's common name, when it has one.
    public var commonName: String?
    /// DNS subject alternative names.
    public var dnsNames: [String]
    /// IP address subject alternative names, in textual form.
    public var ipAddresses: [String]
    /// URI subject alternative names.
    public var uris: [String]
    /// E-mail subject alternative names.
    public var emailAddresses: [String]
    /// Subject alternative names of other kinds, as hex of their DER encoding.
    public var otherNames: [String]
    /// When the certificate stops being valid, in seconds since the Unix epoch (nil: unknown).
    /// The handshake checked it then; a connection can outlive it.
    public var notAfter: Int64?

    public init(
        subject: String, commonName: String?, dnsNames: [String] = [], ipAddresses: [String] = [],
        uris: [String] = [], emailAddresses: [String] = [], otherNames: [String] = [], notAfter: Int64? = nil
    ) {
        self.notAfter = notAfter
        self.subject = subject
        self.commonName = commonName
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.uris = uris
        self.emailAddresses = emailAddresses
        self.otherNames = otherNames
    }

    /// `CN=<name>` followed by `;DNS=`, `;IP=`, `;URI=` and `;EMAIL=` entries.
    public var description: String {
        var parts = ["CN=\(commonName ?? "")"]
        parts += dnsNames.map { "DNS=\($0)" }
        parts += ipAddresses.map { "IP=\($0)" }
        parts += uris.map { "URI=\($0)" }
        parts += emailAddresses.map { "EMAIL=\($0)" }
        return parts.joined(separator: ";")
    }
}
