import SluiceInterop
import Testing

/// Sluice's Swift interop client cases against Sluice's EchoService, in process.
@Suite struct InteropCasesTests {
    @Test(arguments: InteropClientCases.allCases)
    func interopCase(_ name: String) async throws {
        let server = try TestServer()
        try await runInteropCase(name, client: server.client)
    }

    @Test func unknownCaseFails() async throws {
        let server = try TestServer()
        await #expect(throws: InteropCaseFailure.self) { try await runInteropCase("no_such_case", client: server.client) }
    }
}
