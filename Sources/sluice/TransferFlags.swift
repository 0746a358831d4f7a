import ArgumentParser
import SluiceClient

/// The flags of the commands that move bytes: concurrency, retries and output.
struct TransferFlags: ParsableArguments {
    @Option(help: "Partitions moved at once, all over one connection.")
    var parallel = 4

    @Option(help: """
        Retries of each operation after a transient failure, with exponential backoff \
        (200 ms up to 10 s) and jitter.
        """)
    var retries = 8

    @Flag(help: "Report progress as JSON objects on standard output, one per event, the last one a summary.")
    var json = false

    func validate() throws {
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be 1 to 64") }
        guard retries >= 0 else { throw ValidationError("--retries cannot be negative") }
    }

    var retryPolicy: RetryPolicy { RetryPolicy(maxRetries: retries) }
}
