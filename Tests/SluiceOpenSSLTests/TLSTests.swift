import NIOCore
import SluiceOpenSSL
import SluiceTestSupport
import Testing

/// Which side of an in-memory handshake failed, and how.
struct HandshakeFailure: Error, CustomStringConvertible {
    enum Side: Equatable { case server, client }
    let side: Side
    let error: any Error
    var description: String { "\(side): \(error)" }
}

/// A server and a client TLSConnection joined by shuttling ciphertext between them in memory.
final class TLSPair {
    let server: TLSConnection
    let client: TLSConnection
    private(set) var serverReceived = ByteBuffer()
    private(set) var clientReceived = ByteBuffer()
    private(set) var serverSawClose = false
    private(set) var clientSawClose = false

    init(server: TLSContext, client: TLSContext, serverName: String? = "localhost") throws {
        self.server = try TLSConnection(context: server)
        self.client = try TLSConnection(context: client, serverName: serverName)
    }

    /// Moves ciphertext both ways until neither side has anything left to say.
    /// Throws `HandshakeFailure` naming the side whose read failed.
    func pump() throws {
        for _ in 0..<100 {
            var moved = false
            do {
                if try client.readPlaintext(into: &clientReceived) == .closed { clientSawClose = true }
            } catch {
                throw HandshakeFailure(side: .client, error: error)
            }
            var toServer = ByteBuffer()
            client.takeCiphertext(into: &toServer)
            if toServer.readableBytes > 0 {
                server.receiveCiphertext(toServer)
                moved = true
            }
            do {
                if try server.readPlaintext(into: &serverReceived) == .closed { serverSawClose = true }
            } catch {
                throw HandshakeFailure(side: .server, error: error)
            }
            var toClient = ByteBuffer()
            server.takeCiphertext(into: &toClient)
            if toClient.readableBytes > 0 {
                client.receiveCiphertext(toClient)
                moved = true
            }
            if !moved && client.isHandshakeComplete && server.isHandshakeComplete { return }
            if !moved && !client.hasPendingCiphertext && !server.hasPendingCiphertext
                && !(client.isHandshakeComplete && server.isHandshakeComplete) {
                // Nothing moves but the handshake is unfinished: let one more read settle it.
                continue
            }
        }
        Issue.record("the TLS exchange did not settle")
    }

    func takeServerReceived() -> [UInt8] {
        defer { serverReceived.clear() }
        return serverReceived.readBytes(length: serverReceived.readableBytes) ?? []
    }

    func takeClientReceived() -> [UInt8] {
        defer { clientReceived.clear() }
        return clientReceived.readBytes(length: clientReceived.readableBytes) ?? []
    }
}

@Suite struct TLSContextTests {
    @Test func missingCertificateFile() throws {
        let error = #expect(throws: OpenSSLError.self) {
            try TLSContext.server(
                certificateChainPath: "/nonexistent/server.pem", privateKeyPath: DevCertificates.key("server"),
                clientCAPath: nil, requireClientCertificate: false)
        }
        #expect(error?.description.contains("loading certificate chain /nonexistent/server.pem") == true, "\(String(describing: error))")
        #expect(error?.details.isEmpty == false, "OpenSSL's reasons should be included")
    }

    @Test func missingKeyFile() throws {
        let error = #expect(throws: OpenSSLError.self) {
            try TLSContext.server(
                certificateChainPath: DevCertificates.certificate("server"), privateKeyPath: "/nonexistent/key.pem",
                clientCAPath: nil, requireClientCertificate: false)
        }
        #expect(error?.description.contains("/nonexistent/key.pem") == true, "\(String(describing: error))")
    }

    @Test func keyThatDoesNotMatchTheCertificate() throws {
        let error = #expect(throws: OpenSSLError.self) {
            try TLSContext.server(
                certificateChainPath: DevCertificates.certificate("server"), privateKeyPath: DevCertificates.key("client"),
                clientCAPath: nil, requireClientCertificate: false)
        }
        let description = error?.description ?? ""
        #expect(description.contains(DevCertificates.key("client")), "\(description)")
        #expect(description.contains("mismatch") || description.contains("does not match"), "\(description)")
    }

    @Test func clientCertificateKeyMismatch() throws {
        let error = #expect(throws: OpenSSLError.self) {
            try TLSContext.client(
                trustRootsPath: DevCertificates.certificate("ca"), certificateChainPath: DevCertificates.certificate("client"),
                privateKeyPath: DevCertificates.key("client2"))
        }
        #expect(error?.description.contains(DevCertificates.key("client2")) == true, "\(String(describing: error))")
    }

    @Test func requiringClientCertificatesWithoutACA() throws {
        let error = #expect(throws: OpenSSLError.self) {
            try TLSContext.server(
                certificateChainPath: DevCertificates.certificate("server"), privateKeyPath: DevCertificates.key("server"),
                clientCAPath: nil, requireClientCertificate: true)
        }
        #expect(error?.description == "a client certificate is required but no client CA is configured")
    }

    @Test func missingClientCAFile() throws {
        let error = #expect(throws: OpenSSLError.self) {
            try TLSContext.server(
                certificateChainPath: DevCertificates.certificate("server"), privateKeyPath: DevCertificates.key("server"),
                clientCAPath: "/nonexistent/ca.pem", requireClientCertificate: true)
        }
        #expect(error?.description.contains("/nonexistent/ca.pem") == true, "\(String(describing: error))")
    }

    @Test func missingTrustRootsFile() throws {
        let error = #expect(throws: OpenSSLError.self) {
            try TLSContext.client(trustRootsPath: "/nonexistent/roots.pem", certificateChainPath: nil, privateKeyPath: nil)
        }
        #expect(error?.description.contains("loading trusted CA certificates from /nonexistent/roots.pem") == true)
    }

    @Test func contextsHaveTheirRoles() throws {
        #expect(try TestContexts.server().role == .server)
        #expect(try TestContexts.client().role == .client)
    }
}

enum TestContexts {
    static func server(clientCA: String? = "ca", require: Bool = true) throws -> TLSContext {
        try TLSContext.server(
            certificateChainPath: DevCertificates.certificate("server"), privateKeyPath: DevCertificates.key("server"),
            clientCAPath: clientCA.map(DevCertificates.certificate), requireClientCertificate: require)
    }

    static func client(identity: String? = "client", trusting ca: String = "ca") throws -> TLSContext {
        try TLSContext.client(
            trustRootsPath: DevCertificates.certificate(ca), certificateChainPath: identity.map(DevCertificates.certificate),
            privateKeyPath: identity.map(DevCertificates.key))
    }
}

@Suite struct TLSHandshakeTests {
    @Test func mutualTLSHandshakeNegotiatesH2AndIdentifiesBothSides() throws {
        let pair = try TLSPair(server: TestContexts.server(), client: TestContexts.client())
        #expect(pair.client.negotiatedProtocol == nil)
        #expect(!pair.client.isHandshakeComplete)
        try pair.pump()
        #expect(pair.server.isHandshakeComplete && pair.client.isHandshakeComplete)
        #expect(pair.server.negotiatedProtocol == "h2")
        #expect(pair.client.negotiatedProtocol == "h2")
        #expect(["TLSv1.2", "TLSv1.3"].contains(pair.server.protocolVersion), "\(pair.server.protocolVersion)")
        #expect(pair.client.protocolVersion == pair.server.protocolVersion)

        let client = try #require(pair.server.verifiedPeer)
        #expect(client.commonName == "sluice-client")
        #expect(client.subject == "CN=sluice-client")
        #expect(client.dnsNames == ["client.sluice.test"])
        #expect(client.ipAddresses == [])

        let server = try #require(pair.client.verifiedPeer)
        #expect(server.commonName == "localhost")
        #expect(server.dnsNames == ["localhost"])
        #expect(server.ipAddresses == ["127.0.0.1", "::1"])
    }

    @Test func dataRoundTripsBothWays() throws {
        let pair = try TLSPair(server: TestContexts.server(), client: TestContexts.client())
        try pair.pump()

        let request = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try request.withUnsafeBytes { try pair.client.writePlaintext($0) }
        #expect(pair.client.hasPendingCiphertext)
        try pair.pump()
        #expect(pair.takeServerReceived() == request)

        let response = Array("the server's answer".utf8)
        try response.withUnsafeBytes { try pair.server.writePlaintext($0) }
        try pair.pump()
        #expect(pair.takeClientReceived() == response)

        // Many small writes arrive in order.
        for index in 0..<50 {
            try [UInt8(index)].withUnsafeBytes { try pair.client.writePlaintext($0) }
        }
        try pair.pump()
        #expect(pair.takeServerReceived() == (0..<50).map { UInt8($0) })
    }

    @Test func closeNotifyIsSeenAsClosed() throws {
        let pair = try TLSPair(server: TestContexts.server(), client: TestContexts.client())
        try pair.pump()
        pair.client.shutdown()
        try pair.pump()
        #expect(pair.serverSawClose)
    }

    @Test func serverWithoutClientCAAcceptsAnonymousClients() throws {
        let pair = try TLSPair(server: TestContexts.server(clientCA: nil, require: false), client: TestContexts.client(identity: nil))
        try pair.pump()
        #expect(pair.server.negotiatedProtocol == "h2")
        #expect(pair.server.verifiedPeer == nil)
    }

    @Test func optionalClientCertificateMayBeAbsent() throws {
        let pair = try TLSPair(server: TestContexts.server(require: false), client: TestContexts.client(identity: nil))
        try pair.pump()
        #expect(pair.server.isHandshakeComplete)
        #expect(pair.server.verifiedPeer == nil)
    }

    @Test func optionalClientCertificateIsVerifiedWhenPresent() throws {
        let pair = try TLSPair(server: TestContexts.server(require: false), client: TestContexts.client(identity: "client2"))
        try pair.pump()
        #expect(pair.server.verifiedPeer?.commonName == "sluice-client2")
        #expect(pair.server.verifiedPeer?.dnsNames == ["client2.sluice.test"])
    }

    /// Client certificates the server must refuse. With TLS 1.3 the client finishes its
    /// side first, so the server is the one whose handshake fails.
    @Test(arguments: [
        ("other-client", "unknown ca|unable to get local issuer|certificate verify failed"),
        ("expired-client", "expired|certificate verify failed"),
    ])
    func untrustedOrExpiredClientCertificateFailsTheHandshake(_ identity: String, _ reason: String) throws {
        let pair = try TLSPair(server: TestContexts.server(), client: TestContexts.client(identity: identity))
        let failure = #expect(throws: HandshakeFailure.self) { try pair.pump() }
        #expect(failure?.side == .server)
        #expect(pair.server.verifiedPeer == nil)
        let description = failure.map { "\($0.error)" } ?? ""
        #expect(description.contains("TLS handshake failed"), "\(description)")
        #expect(reason.split(separator: "|").contains { description.contains($0) }, "\(description)")
    }

    @Test func missingRequiredClientCertificateFailsTheHandshake() throws {
        let pair = try TLSPair(server: TestContexts.server(require: true), client: TestContexts.client(identity: nil))
        let failure = #expect(throws: HandshakeFailure.self) { try pair.pump() }
        #expect(failure?.side == .server)
        let description = failure.map { "\($0.error)" } ?? ""
        #expect(description.contains("certificate"), "\(description)")
    }

    @Test func clientRefusesAServerFromAnotherCA() throws {
        let pair = try TLSPair(server: TestContexts.server(), client: TestContexts.client(trusting: "other-ca"))
        let failure = #expect(throws: HandshakeFailure.self) { try pair.pump() }
        #expect(failure?.side == .client)
        let description = failure.map { "\($0.error)" } ?? ""
        #expect(description.contains("certificate verification"), "\(description)")
    }

    @Test(arguments: ["sluice.example.com", "localhost.evil", "127.0.0.2", "::2"])
    func clientExpectingAnotherServerNameFails(_ name: String) throws {
        let pair = try TLSPair(server: TestContexts.server(), client: TestContexts.client(), serverName: name)
        let failure = #expect(throws: HandshakeFailure.self) { try pair.pump() }
        #expect(failure?.side == .client)
        let description = failure.map { "\($0.error)" } ?? ""
        #expect(description.contains("mismatch"), "\(description)")
    }

    @Test(arguments: ["localhost", "127.0.0.1", "::1"])
    func serverNamesInTheCertificateVerify(_ name: String) throws {
        let pair = try TLSPair(server: TestContexts.server(), client: TestContexts.client(), serverName: name)
        try pair.pump()
        #expect(pair.client.isHandshakeComplete)
        #expect(pair.client.verifiedPeer?.commonName == "localhost")
    }
}

/// OpenSSL keeps one error queue per thread, shared by every connection an event loop
/// thread serves. A connection must neither leave errors in it nor be confused by errors
/// another left there.
@Suite struct TLSErrorQueueTests {
    @Test func aRefusedConnectionDoesNotBreakAnotherOnTheSameThread() throws {
        let healthy = try TLSPair(server: TestContexts.server(), client: TestContexts.client())
        try healthy.pump()

        // A client whose certificate the server refuses; it learns of it from the alert.
        let refused = try TLSPair(server: TestContexts.server(), client: TestContexts.client(identity: "other-client"))
        #expect(throws: HandshakeFailure.self) { try refused.pump() }
        var alert = ByteBuffer()
        refused.server.takeCiphertext(into: &alert)
        refused.client.receiveCiphertext(alert)
        var ignored = ByteBuffer()
        #expect(throws: (any Error).self) { _ = try refused.client.readPlaintext(into: &ignored) }
        // What a connection handler does with a failed connection: say goodbye and close.
        refused.client.shutdown()
        refused.server.shutdown()

        // The healthy connection has simply nothing to read.
        var plaintext = ByteBuffer()
        #expect(try healthy.client.readPlaintext(into: &plaintext) == .needMoreData)
        #expect(try healthy.server.readPlaintext(into: &plaintext) == .needMoreData)
        try Array("still fine".utf8).withUnsafeBytes { try healthy.client.writePlaintext($0) }
        try healthy.pump()
        #expect(healthy.takeServerReceived() == Array("still fine".utf8))
    }
}

/// How a handshake ends when the server answers the ClientHello with a bare alert record: a
/// close_notify is the peer closing (as a FIN or a reset then is: UNAVAILABLE, retried, exit 6
/// in the CLI), a fatal alert is a refusal (thrown: "TLS failed", exit 4).
@Suite struct TLSHandshakeAlertTests {
    /// A client that sent its ClientHello and then receives `alert` (level, description)
    /// as a plaintext TLS 1.2 alert record.
    private func clientReceivingAlert(_ level: UInt8, _ description: UInt8) throws -> TLSConnection {
        let client = try TLSConnection(context: TestContexts.client(), serverName: "localhost")
        var ignored = ByteBuffer()
        #expect(try client.readPlaintext(into: &ignored) == .needMoreData)
        var hello = ByteBuffer()
        client.takeCiphertext(into: &hello)
        #expect(hello.readableBytes > 0)
        client.receiveCiphertext(ByteBuffer(bytes: [0x15, 0x03, 0x03, 0x00, 0x02, level, description]))
        return client
    }

    @Test func closeNotifyDuringTheHandshakeIsAClose() throws {
        let client = try clientReceivingAlert(1, 0)
        var plaintext = ByteBuffer()
        #expect(try client.readPlaintext(into: &plaintext) == .closed)
        #expect(!client.isHandshakeComplete)
    }

    @Test func aFatalAlertDuringTheHandshakeIsARefusal() throws {
        let client = try clientReceivingAlert(2, 40)   // handshake_failure
        var plaintext = ByteBuffer()
        let error = #expect(throws: OpenSSLError.self) { _ = try client.readPlaintext(into: &plaintext) }
        #expect(error?.description.contains("handshake failure") == true, "\(String(describing: error))")
    }
}
