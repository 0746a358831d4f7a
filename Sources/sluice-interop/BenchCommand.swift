import ArgumentParser
import Foundation
import SluiceClient
import SluiceInterop
import SluiceRPC

/// `sluice-interop bench`: one benchmark run against an EchoService server over one
/// connection; prints one JSON line of results. scripts/bench.sh drives it.
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmark EchoService calls over one connection; prints one JSON line.",
        discussion: """
            unary: --streams callers make UnaryEcho calls for --duration-seconds.
            upload: --streams ClientStreamEcho calls send --total-bytes in all, in --message-size messages.
            download: --streams callers receive --total-bytes in all through ServerStreamEcho.
            A bulk run also stops after --duration-seconds; "complete" is then false.
            A run that has not ended a minute after --duration-seconds is cancelled and fails.
            """)

    @OptionGroup var connection: ClientOptions

    @Option(help: "unary, upload or download.")
    var mode: String

    @Option(parsing: .unconditional, help: "Concurrent callers or streams, on one connection.")
    var streams = 1

    @Option(parsing: .unconditional, help: "Payload bytes to move in all (upload, download).")
    var totalBytes: Int64 = 2 * 1024 * 1024 * 1024

    @Option(parsing: .unconditional, help: "Payload bytes per message; 64 for unary, 1 MiB for upload and download by default.")
    var messageSize: Int?

    @Option(parsing: .unconditional, help: "Length of a unary run (default 5); the longest an upload or download may take (default 60).")
    var durationSeconds: Double?

    @Option(parsing: .unconditional, help: "A deadline for every call (grpc-timeout), seconds; none by default.")
    var callTimeoutSeconds: Double?

    func validate() throws {
        guard BenchmarkConfiguration.Mode(rawValue: mode) != nil else {
            throw ValidationError("--mode must be unary, upload or download")
        }
        guard streams > 0, totalBytes > 0, messageSize ?? 1 > 0, durationSeconds ?? 1 > 0, callTimeoutSeconds ?? 1 > 0 else {
            throw ValidationError("--streams, --total-bytes, --message-size and --duration-seconds must be positive")
        }
    }

    func run() async throws {
        let mode = BenchmarkConfiguration.Mode(rawValue: mode)!
        let configuration = BenchmarkConfiguration(
            mode: mode, streams: streams, totalBytes: totalBytes,
            messageSize: messageSize ?? BenchmarkConfiguration.defaultMessageSize(for: mode),
            maxDuration: .milliseconds(Int64((durationSeconds ?? (mode == .unary ? 5 : 60)) * 1000)),
            callTimeout: callTimeoutSeconds.map { .milliseconds(Int64($0 * 1000)) })
        let transport = try connection.makeTransport()
        do {
            let result = try await BenchmarkRunner(configuration: configuration, client: RPCClient(transport: transport)).run()
            await transport.close()
            print(try result.jsonLine())
        } catch {
            await transport.close()
            FileHandle.standardError.write(Data("bench: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
