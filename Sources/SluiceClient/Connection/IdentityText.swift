import SluiceOpenSSL

/// How `whoami` shows the names of a certificate: `key: value` lines.
public enum IdentityText {
    public static func lines(_ identity: CertificateIdentity) -> [String] {
        var lines = ["subject: \(identity.subject)"]
        if let commonName = identity.commonName { lines.append("common-name: \(commonName)") }
        lines += identity.dnsNames.map { "san: DNS:\($0)" }
        lines += identity.ipAddresses.map { "san: IP:\($0)" }
        lines += identity.uris.map { "san: URI:\($0)" }
        lines += identity.emailAddresses.map { "san: email:\($0)" }
        return lines
    }
}
