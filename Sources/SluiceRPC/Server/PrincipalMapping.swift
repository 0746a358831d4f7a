/// How a verified client certificate becomes a principal name: which of its names count.
///
/// Every mapping refuses a certificate it would give an empty name, and none merges two
/// certificates whose counted names differ:
///
/// - `subjectAndSANs` (the default): the subject in RFC 2253 form, then each subject
///   alternative name as `;TYPE=value` (DNS, IP, URI, EMAIL, OTHER with the DER in hex), sorted,
///   values percent-encoded where they hold `%`, `;` or a control character. OpenSSL's RFC 2253
///   form escapes `;` inside the subject, so the encoding is injective. A certificate without
///   SANs keeps its plain subject as its name, as before this mapping existed.
/// - `subject`: the subject alone. Certificates that share a subject share a principal.
/// - `sanURI`: the certificate's one URI SAN (a SPIFFE ID, say); none or several is refused.
/// - `sanDNS`: the certificate's one DNS SAN, in lowercase (DNS names are case-insensitive,
///   RFC 4343: a renewal spelled `workload.example.test` is the `Workload.Example.TEST` it
///   replaces); none or several is refused.
public enum PrincipalMapping: String, Sendable, CaseIterable {
    case subjectAndSANs = "subject+sans"
    case subject = "subject"
    case sanURI = "san-uri"
    case sanDNS = "san-dns"

    /// Why a certificate yields no principal under a mapping.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The principal name of `peer`, or a refusal saying what the certificate lacks.
    public func principalName(of peer: PeerIdentity) throws(Refusal) -> String {
        switch self {
        case .subject:
            guard !peer.subject.isEmpty else {
                throw Refusal(description: "the client certificate has an empty subject, and sluiced identifies "
                    + "callers by subject (--principal-from subject); use a certificate with a subject")
            }
            return peer.subject
        case .subjectAndSANs:
            let names = Self.alternativeNames(of: peer)
            guard !peer.subject.isEmpty || !names.isEmpty else {
                throw Refusal(description: "the client certificate has neither a subject nor subject alternative "
                    + "names, so it names nobody; use a certificate with a subject or a SAN")
            }
            return peer.subject + names.map { ";" + $0 }.joined()
        case .sanURI:
            return try Self.single(peer.uris, kind: "URI", flag: rawValue)
        case .sanDNS:
            return canonical(try Self.single(peer.dnsNames, kind: "DNS", flag: rawValue))
        }
    }

    /// `identity` as this mapping spells it: a name an operator gives (`--admin`,
    /// `--register-principal`, RegisterPrincipal) then matches the certificates it means.
    /// Under `sanDNS` that is ASCII lowercase; every other mapping takes names as they are.
    public func canonical(_ identity: String) -> String {
        guard self == .sanDNS else { return identity }
        return String(decoding: identity.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// The one SAN of a kind, taken as it is; one holding a NUL is refused (no principal name
    /// can hold one: PostgreSQL text cannot). The other mappings escape control characters.
    private static func single(_ names: [String], kind: String, flag: String) throws(Refusal) -> String {
        guard names.count == 1, let name = names.first, !name.isEmpty else {
            throw Refusal(description: "the client certificate has \(names.count) \(kind) subject alternative names; "
                + "sluiced identifies callers by exactly one (--principal-from \(flag))")
        }
        guard !name.utf8.contains(0) else {
            throw Refusal(description: "the client certificate's \(kind) subject alternative name contains a NUL "
                + "character, so it names no principal (--principal-from \(flag)); use a certificate without one")
        }
        return name
    }

    /// `TYPE=value` for every SAN, sorted, values encoded so that `;` only ever separates.
    static func alternativeNames(of peer: PeerIdentity) -> [String] {
        let typed = peer.dnsNames.map { ("DNS", $0) } + peer.ipAddresses.map { ("IP", $0) }
            + peer.uris.map { ("URI", $0) } + peer.emailAddresses.map { ("EMAIL", $0) }
            + peer.otherNames.map { ("OTHER", $0) }
        return typed.map { "\($0.0)=\(encoded($0.1))" }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    private static func encoded(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            if scalar == "%" || scalar == ";" || scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) {
                for byte in String(scalar).utf8 {
                    let digits = String(byte, radix: 16, uppercase: true)
                    out += "%" + (digits.count == 1 ? "0" : "") + digits
                }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
