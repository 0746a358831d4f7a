import ArgumentParser
import Foundation
import SluiceClient

/// `sluice sync LOCAL_DIR REMOTE_PREFIX`: keeps a directory and a remote prefix in step, both ways.
struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Keep a local directory and a remote prefix in step, both ways.",
        discussion: """
            Compares by SHA-256 against the state of the last sync (kept in a state file): what \
            changed on one side goes to the other, deletions go both ways, a file changed on both \
            sides keeps the remote version under its name and this device's version beside it as \
            'NAME (conflict from DEVICE YYYY-MM-DD HHMMSS).EXT' (on both sides). Partitions the \
            server already holds are not sent again. Empty directories are kept (as zero-byte \
            '.sluice-dir' objects). .sluiceignore at the top of LOCAL_DIR holds gitignore-like \
            rules; symbolic links and special files are skipped with a note. With --watch it keeps \
            running: local changes (inotify) and remote changes (the change feed) are synced within \
            seconds; it reconnects when the server goes away and resumes after a restart.
            Example: sluice sync ~/Documents docs/ --watch
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The local directory.")
    var local: String

    @Argument(help: "The remote prefix (a folder; '/' is appended if missing).")
    var remote: String

    @Flag(help: "Keep running and sync changes as they happen.")
    var watch = false

    @Flag(help: "Print what would be done, change nothing.")
    var dryRun = false

    @Flag(help: "One JSON object per event on standard output, each pass ending with a summary.")
    var json = false

    @Flag(help: "Let a run delete the synced files on one side when the other side holds none of them any more (refused otherwise: a side that went away, such as an unmounted disk, looks the same).")
    var allowDeleteAll = false

    @Option(help: "Name of this device in conflict copies. (default: the host name)")
    var device: String?

    @Option(help: "The state file. (default: one per server, owner, prefix and directory under $SLUICE_STATE_DIR/sync)")
    var stateFile: String?

    @Option(parsing: .unconditional, help: "Files moved at once; small ones (up to 4 MiB, one call each) four times as many.")
    var parallel = 4

    @OptionGroup var retry: RetryFlags

    /// Passes a single sync makes at most while actions are deferred.
    static let passes = 3

    func validate() throws {
        guard (1...64).contains(parallel) else { throw ValidationError("--parallel must be 1 to 64") }
        guard !(watch && dryRun) else { throw ValidationError("--dry-run makes one pass; it cannot be used with --watch") }
    }

    func run() async throws {
        let settings = try connection.resolved()
        let root = URL(fileURLWithPath: (local as NSString).expandingTildeInPath).standardizedFileURL.path
        let prefix = SyncOptions.normalizedPrefix(remote)
        let owner = ownerFlag.owner
        let options = SyncOptions(
            localRoot: root, remotePrefix: prefix, owner: owner, device: device ?? SyncOptions.hostName(),
            parallelism: parallel, retry: retry.policy, dryRun: dryRun,
            stateFile: stateFile.map(SyncStateFile.init(path:))
                ?? SyncStateFile.standard(server: settings.server, owner: owner, remotePrefix: prefix, localRoot: root),
            journal: UploadJournal(directory: UploadJournal.defaultDirectory()), allowDeleteAll: allowDeleteAll)
        if !dryRun { try options.stateFile.lock() }
        let json = json
        let report: @Sendable (SyncEvent) -> Void = { event in
            // Summaries and actions on standard output, unbuffered; notes about skips and
            // retries on standard error unless they are JSON.
            let toError = !json && [.skip, .retrying, .failed, .deferred].contains(event.kind)
            Output.write([json ? event.json : event.text], json ? .json : .escaped, to: toError ? .standardError : .standardOutput)
        }
        let watch = watch
        try await Interrupt.cancellable {
            try await settings.withClient { client in
                let engine = try SyncEngine(client: client, options: options, report: report)
                if watch {
                    try await SyncWatcher(engine: engine, client: client, report: report).run()
                } else {
                    // Actions deferred because a file changed meanwhile get a few more passes.
                    for _ in 0..<Self.passes {
                        let (summary, failure) = try await engine.pass()
                        if let failure { throw failure }
                        if summary.converged || options.dryRun { break }
                    }
                }
            }
        }
    }
}
