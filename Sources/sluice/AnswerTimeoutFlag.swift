import ArgumentParser

/// `--timeout` of the one-question commands (`sluice health`, `sluice whoami`): how long to
/// wait for the server's answer.
struct AnswerTimeoutFlag: ParsableArguments {
    /// The longest wait one may ask for: an hour.
    static let maxSeconds = 3600

    @Option(parsing: .unconditional, help: "Seconds to wait for the server (1 to 3600).")
    var timeout = 10

    func validate() throws {
        guard (1...Self.maxSeconds).contains(timeout) else {
            throw ValidationError("--timeout must be 1 to \(Self.maxSeconds) seconds, got \(timeout)")
        }
    }
}
