import ArgumentParser
import Foundation
import SluiceClient
import SluiceDaemon
import SluiceInterop
import SluiceOpenSSL
import SluiceRPC

/// sluice-interop: serves and calls the interoperability test service, so Sluice's
/// transport can be tested against a stock gRPC implementation in both directions.
@main
struct SluiceInteropCommand: AsyncParsableCommand {
    /// OpenSSL is set up before anything touches it (see `OpenSSLLibrary`).
    static func main() async {
        OpenSSLLibrary.initializeWithoutExitCleanup()
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "sluice-interop",
        abstract: "Serve or call sluice.interop.v1.EchoService (for interoperability tests).",
        subcommands: [Serve.self, Client.self, Bench.self])
}

/// `sluice-interop serve`: EchoService, health and reflection on Sluice's transport.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve EchoService with health and reflection.")

    @OptionGroup var options: ServerOptions

    func run() async throws {
        ServerRunner.bootstrapLogging(options)
        ServerRunner.bootstrapMetrics(options)
        let statsSource = StatsSource()
        let streamWindow = options.streamWindow
        let echo = EchoService {
            let snapshot = statsSource.server?.stats.snapshot
            // The window a stream may hold now: the configured one, or larger where a
            // connection's window grew (a long round trip).
            return TransportStats(
                maxBufferedStreamBytes: Int64(snapshot?.maxBufferedStreamBytes ?? 0),
                streamWindowBytes: Int64(max(streamWindow, snapshot?.largestGrownStreamWindow ?? 0)),
                activeCalls: Int32(snapshot?.activeCalls ?? 0))
        }
        try await ServerRunner(options: options, services: [echo]).run(name: "sluice-interop") { server in
            statsSource.server = server
        }
    }
}

/// `sluice-interop client`: runs one interop case against a server.
struct Client: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an interop case against a server; exits 0 when it passes.",
        discussion: "Cases: \(InteropClientCases.allCases.joined(separator: ", "))")

    @OptionGroup var connection: ClientOptions

    @Option(name: .customLong("case"), help: "The case to run.")
    var caseName: String

    func validate() throws {
        guard InteropClientCases.allCases.contains(caseName) else {
            throw ValidationError("unknown case '\(caseName)'; cases: \(InteropClientCases.allCases.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let transport = try connection.makeTransport()
        do {
            try await runInteropCase(caseName, client: RPCClient(transport: transport))
            await transport.close()
            print("\(caseName): passed")
        } catch {
            await transport.close()
            FileHandle.standardError.write(Data("\(caseName): FAILED: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
