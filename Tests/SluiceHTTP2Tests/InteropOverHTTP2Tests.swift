import SluiceHTTP2
import SluiceInterop
import SluiceProto
import SluiceRPC
import Testing

/// Sluice's interop client cases against Sluice's own server, over mutual TLS on loopback.
@Suite(.timeLimit(.minutes(1))) struct InteropOverHTTP2Tests {
    @Test(arguments: InteropClientCases.allCases)
    func interopCase(_ name: String) async throws {
        try await withServer { _, transport in
            try await runInteropCase(name, client: RPCClient(transport: transport))
        }
    }

    @Test(arguments: ["unary", "client_streaming", "server_streaming", "bidi", "metadata", "status_unicode"])
    func interopCaseOverCleartextH2C(_ name: String) async throws {
        var options = TestServer.Options()
        options.tls = false
        try await withServer(options) { _, transport in
            #expect(transport.scheme == "http")
            try await runInteropCase(name, client: RPCClient(transport: transport))
        }
    }
}
