import ArgumentParser
import SluiceClient

/// The flags of the commands that move bytes: concurrency and output (retries are `RetryFlags`).
struct TransferFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: "Partitions moved at once, all over one connection.")
    var parallel = 4

    @Flag(help: "Report progress as JSON objects on standard output, one per event, the last one a summary.")
    var json = false

    func validate() throws {
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be 1 to 64") }
    }
}
