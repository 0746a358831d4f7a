import ArgumentParser
import SluiceClient

/// `sluice download REMOTE LOCAL`: a resumable, parallel, verified download.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download an object to a file, or to standard output.",
        discussion: """
            Fetches the partitions in parallel into .<name>.sluice-part beside the target, checks \
            every partition's SHA-256 and then the whole object's, and only then renames the file \
            into place. An interrupted download resumes when run again. With --stdout the bytes go \
            to standard output in order, each partition verified before it is written.
            Example: sluice download backups/2026-11-21.tar ./restore.tar
            Example: sluice download logs/app.log --stdout | grep ERROR
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var transfer: TransferFlags
    @OptionGroup var retry: RetryFlags
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The object name.")
    var remote: String

    @Argument(help: "The local file, or a directory to download into (named after the object).")
    var local: String?

    @Option(parsing: .unconditional, help: "The version to download; the current one by default.")
    var version: Int64 = 0

    @Flag(help: "Write the object to standard output instead of a file.")
    var stdout = false

    func validate() throws {
        guard (local == nil) == stdout else {
            throw ValidationError(stdout ? "give either LOCAL or --stdout, not both" : "give LOCAL, or --stdout")
        }
        guard version >= 0 else { throw ValidationError("--version cannot be negative") }
        if stdout && transfer.json {
            throw ValidationError("--json reports on standard output; it cannot go with --stdout")
        }
    }

    func run() async throws {
        let settings = try connection.resolved()
        var configured = DownloadOptions(parallelism: transfer.parallel, retry: retry.policy)
        configured.owner = ownerFlag.owner
        let options = configured
        let (remote, version) = (remote, version)
        let target = try local.map { try Downloader.destination(of: remote, at: $0) }
        try await ProgressReporter(json: transfer.json, dataOnStandardOutput: stdout).run { progress in
            try await Interrupt.cancellable {
                try await settings.withClient { client in
                    let downloader = Downloader(client: client, options: options)
                    if let target {
                        return try await downloader.download(remote, version: version, to: target, progress: progress)
                    }
                    return try await downloader.stream(
                        remote, version: version, to: Downloader.standardOutput, progress: progress)
                }
            }
        }
    }
}
