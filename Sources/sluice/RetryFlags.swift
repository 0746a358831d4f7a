import ArgumentParser
import SluiceClient

/// `--retries`, on every command whose calls are retried after a transient failure: the
/// transfers (upload, download, sync), the reads (ls, stat, versions, sessions, shares, usage,
/// admin principals and usage) and watch. A command that changes something in one call (rm,
/// restore, share, unshare, the other admin commands) sends it once, since a repeat of a call
/// whose answer was lost could do it twice; health and whoami ask once, since they tell how
/// the server is now. Those do not take the flag.
struct RetryFlags: ParsableArguments {
    @Option(parsing: .unconditional, help: """
        Retries of each call after a transient failure, with exponential backoff (200 ms up to \
        10 s) and jitter, or after the wait a rate-limited server asks for.
        """)
    var retries = 8

    func validate() throws {
        guard retries >= 0 else { throw ValidationError("--retries cannot be negative") }
    }

    var policy: RetryPolicy { RetryPolicy(maxRetries: retries) }
}
