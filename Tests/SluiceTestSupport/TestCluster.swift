import Foundation
import SluicePostgres

/// The test cluster: SLUICE_TEST_DATABASE_URL when set (scripts/run-tests.sh sets it), otherwise
/// the project's cluster, started with `scripts/postgres.sh start` (and left running). Shared
/// by every Swift test target that needs PostgreSQL; each test makes its own database in it.
public enum TestCluster {
    /// Resolved once for the whole test process.
    private static let setup = Task<(url: String, admin: PostgresPool), any Error> {
        let url: String
        if let configured = ProcessInfo.processInfo.environment["SLUICE_TEST_DATABASE_URL"], !configured.isEmpty {
            url = configured
        } else {
            _ = try await runScript("start")
            url = try await runScript("url").trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return (url, try PostgresPool(url: url, overrides: ["application_name": "sluice-tests-admin"], size: 4))
    }

    public static func baseURL() async throws -> String { try await setup.value.url }
    public static func admin() async throws -> PostgresPool { try await setup.value.admin }

    static let repositoryRoot = DevCertificates.repositoryRoot

    /// Runs scripts/postgres.sh with one argument and returns its standard output.
    private static func runScript(_ argument: String) async throws -> String {
        let process = Process()
        process.executableURL = repositoryRoot.appendingPathComponent("scripts/postgres.sh")
        process.arguments = [argument]
        let output = Pipe()
        process.standardOutput = output
        let exit = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exit.continuation.yield($0.terminationStatus) }
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        var status: Int32 = -1
        for await code in exit.stream {
            status = code
            break
        }
        guard status == 0 else {
            throw PostgresError(.connection, "scripts/postgres.sh \(argument) failed with status \(status)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
