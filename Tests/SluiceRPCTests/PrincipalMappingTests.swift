import Testing

@testable import SluiceRPC

/// No two certificates whose counted names differ get one principal; an empty identity is refused.
@Suite struct PrincipalMappingTests {
    @Test func subjectAndSANsKeepsPlainSubjectsAndSeparatesSANs() throws {
        let plain = PeerIdentity(subject: "CN=alice", commonName: "alice")
        #expect(try PrincipalMapping.subjectAndSANs.principalName(of: plain) == "CN=alice")
        let a = PeerIdentity(subject: "", commonName: nil, dnsNames: ["a.test"])
        let b = PeerIdentity(subject: "", commonName: nil, dnsNames: ["b.test"])
        #expect(try PrincipalMapping.subjectAndSANs.principalName(of: a) == ";DNS=a.test")
        #expect(try PrincipalMapping.subjectAndSANs.principalName(of: a) != PrincipalMapping.subjectAndSANs.principalName(of: b))
    }

    @Test func separatorsInsideValuesCannotForgeAnotherIdentity() throws {
        let one = PeerIdentity(subject: "CN=x", commonName: "x", dnsNames: ["a;DNS=b"])
        let two = PeerIdentity(subject: "CN=x", commonName: "x", dnsNames: ["a", "b"])
        #expect(try PrincipalMapping.subjectAndSANs.principalName(of: one) == "CN=x;DNS=a%3BDNS=b")
        #expect(try PrincipalMapping.subjectAndSANs.principalName(of: one) != PrincipalMapping.subjectAndSANs.principalName(of: two))
        let kinds = PeerIdentity(subject: "", commonName: nil, uris: ["x"])
        let dns = PeerIdentity(subject: "", commonName: nil, dnsNames: ["x"])
        #expect(try PrincipalMapping.subjectAndSANs.principalName(of: kinds) != PrincipalMapping.subjectAndSANs.principalName(of: dns))
    }

    @Test func orderOfSANsDoesNotMatter() throws {
        let one = PeerIdentity(subject: "CN=x", commonName: "x", dnsNames: ["b", "a"], uris: ["u"])
        let two = PeerIdentity(subject: "CN=x", commonName: "x", dnsNames: ["a", "b"], uris: ["u"])
        #expect(try PrincipalMapping.subjectAndSANs.principalName(of: one) == PrincipalMapping.subjectAndSANs.principalName(of: two))
    }

    @Test func emptyIdentitiesAreRefusedByEveryMapping() {
        let nobody = PeerIdentity(subject: "", commonName: nil)
        for mapping in PrincipalMapping.allCases {
            #expect(throws: PrincipalMapping.Refusal.self) { try mapping.principalName(of: nobody) }
        }
    }

    @Test func singleSANMappingsRefuseANameWithANUL() throws {
        let uri = PeerIdentity(subject: "CN=w", commonName: "w", dnsNames: ["a\u{0}b.test"], uris: ["spiffe://t/a\u{0}b"])
        for mapping in [PrincipalMapping.sanURI, .sanDNS] {
            #expect(throws: PrincipalMapping.Refusal.self) { try mapping.principalName(of: uri) }
        }
        // The combined mapping escapes it instead.
        #expect(try PrincipalMapping.subjectAndSANs.principalName(of: uri).utf8.contains(0) == false)
    }

    @Test func singleSANMappingsNeedExactlyOne() throws {
        let two = PeerIdentity(subject: "CN=w", commonName: "w", uris: ["spiffe://t/a", "spiffe://t/b"])
        #expect(throws: PrincipalMapping.Refusal.self) { try PrincipalMapping.sanURI.principalName(of: two) }
        let one = PeerIdentity(subject: "CN=w", commonName: "w", dnsNames: ["d"], uris: ["spiffe://t/a"])
        #expect(try PrincipalMapping.sanURI.principalName(of: one) == "spiffe://t/a")
        #expect(try PrincipalMapping.sanDNS.principalName(of: one) == "d")
    }

    @Test func dnsNamesDifferingOnlyInCaseAreOnePrincipal() throws {
        let first = PeerIdentity(subject: "CN=w", commonName: "w", dnsNames: ["Workload.Example.TEST"])
        let renewed = PeerIdentity(subject: "CN=w", commonName: "w", dnsNames: ["workload.example.test"])
        #expect(try PrincipalMapping.sanDNS.principalName(of: first) == "workload.example.test")
        #expect(try PrincipalMapping.sanDNS.principalName(of: renewed) == "workload.example.test")
        #expect(PrincipalMapping.sanDNS.canonical("Workload.Example.TEST") == "workload.example.test")
        // Only ASCII folds (IDNs travel as punycode), and the other mappings keep case.
        #expect(PrincipalMapping.sanDNS.canonical("ÄB.test") == "Äb.test")
        #expect(PrincipalMapping.sanURI.canonical("spiffe://T/A") == "spiffe://T/A")
        #expect(PrincipalMapping.subject.canonical("CN=Alice") == "CN=Alice")
    }
}
