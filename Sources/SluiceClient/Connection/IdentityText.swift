import SluiceHTTP2
import SluiceOpenSSL
import SluiceRPC

/// How `whoami` shows the names of a certificate: `key: value` lines.
public enum IdentityText {
    public static func lines(_ identity: CertificateIdentity) -> [String] {
        var lines = ["subject: \(identity.subject)"]
        if let commonName = identity.commonName { lines.append("common-name: \(commonName)") }
        lines += identity.dnsNames.map { "san: DNS:\($0)" }
        lines += identity.ipAddresses.map { "san: IP:\($0)" }
        lines += identity.uris.map { "san: URI:\($0)" }
        lines += identity.emailAddresses.map { "san: email:\($0)" }
        lines += identity.otherNames.map { "san: other:\($0)" }
        // The principal sluiced makes of these names, under each --principal-from.
        let peer = PeerIdentity(identity)
        for mapping in PrincipalMapping.allCases {
            let suffix = mapping == .subjectAndSANs ? " (the server's default)" : ""
            do {
                lines.append("principal (--principal-from \(mapping.rawValue))\(suffix): \(try mapping.principalName(of: peer))")
            } catch {
                lines.append("principal (--principal-from \(mapping.rawValue))\(suffix): none: \(error)")
            }
        }
        return lines
    }
}
