import SluiceStore
import Testing

/// Handles suggested by principal identities, and what counts as a handle.
@Suite struct PrincipalHandleTests {
    @Test(arguments: [
        ("CN=alice", "alice"),
        ("CN=Alice Smith,O=Example Corp", "alice-smith"),
        ("O=Example,CN=bob.jones", "bob.jones"),
        ("CN=sluice-client;DNS=client.sluice.test", "sluice-client"),
        (";DNS=a.nosubject.test", "a.nosubject.test"),
        ("spiffe://sluice.test/ns/prod/sa/Build_Bot", "build_bot"),
        (";URI=spiffe://sluice.test/ns/a", "a"),
        ("db.internal.example", "db.internal.example"),
        ("CN=Zoë Ünïcode", "zo-n-code"),
        // OpenSSL's RFC 2253 escapes: the handle comes from the name they spell.
        (#"CN=caf\C3\A9,O=Example"#, "caf"),
        (#"CN=Smith\, John,O=Example"#, "smith-john"),
        (#"O=A\,CN=B,CN=real"#, "real"),
        (#"CN=\23hash\+plus"#, "hash-plus"),
        ("CN=---", "principal"),
        ("", "principal"),
    ])
    func suggestion(identity: String, handle: String) {
        #expect(PrincipalHandle.suggested(by: identity) == handle)
    }

    @Test func suggestionsAreValidAndLeaveRoomForASuffix() {
        let long = "CN=" + String(repeating: "a", count: 200)
        let suggested = PrincipalHandle.suggested(by: long)
        #expect(PrincipalHandle.isValid(suggested))
        #expect(PrincipalHandle.isValid(suggested + "-9999999"))
        for identity in ["CN=\u{0}", "CN=a/b\\c", "CN=x;;", "CN=.hidden", "OU=x"] {
            #expect(PrincipalHandle.isValid(PrincipalHandle.suggested(by: identity)), "\(identity)")
        }
    }

    @Test func validity() {
        #expect(PrincipalHandle.isValid("a"))
        #expect(PrincipalHandle.isValid("build-bot_2.ci"))
        #expect(!PrincipalHandle.isValid(""))
        #expect(!PrincipalHandle.isValid("Alice"))
        #expect(!PrincipalHandle.isValid("a b"))
        #expect(!PrincipalHandle.isValid(String(repeating: "a", count: 65)))
        #expect(PrincipalHandle.isValid(String(repeating: "a", count: 64)))
    }

    @Test func parsingAcceptsHandlesAndRefusesTheRestNamingTheFieldWithControlsEscaped() throws {
        #expect(try PrincipalHandle.parse("build-bot.ci_2", field: "grantee") == "build-bot.ci_2")
        for bad in ["", "Alice", "a b", "a\u{0}b", "zoë", String(repeating: "a", count: 65)] {
            #expect(throws: StorageError.self) { try PrincipalHandle.parse(bad, field: "grantee") }
        }
        do {
            _ = try PrincipalHandle.parse("a\u{0}b\n", field: "owner")
            Issue.record("a handle with NUL was accepted")
        } catch {
            #expect(error.description.hasPrefix("owner 'a\\0b\\n' is not a principal's handle"))
        }
        do {
            _ = try PrincipalHandle.parse(String(repeating: "x", count: 5000), field: "handle")
            Issue.record("a 5000-character handle was accepted")
        } catch {
            #expect(error.description.hasPrefix("handle '\(String(repeating: "x", count: 80))…' is not"))
        }
    }
}
