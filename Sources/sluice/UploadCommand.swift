import ArgumentParser
import SluiceClient

/// `sluice upload LOCAL REMOTE`: a resumable, parallel, verified upload.
struct UploadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload a file as a new version of an object.",
        discussion: """
            Hashes every partition once (SHA-256), opens an upload session declaring those hashes, \
            sends the partitions in parallel over one connection, and commits. It declares no \
            whole-file SHA-256: the server computes it from the stored bytes (the partition hashes \
            vouch for them), and the summary reports that one (`sluice stat` then shows it as \
            computed). A file of one partition and at most 4 MiB goes up in one PutObject call \
            instead, with its SHA-256 (the partition's is the whole's). \
            With --no-whole-sha256 the server computes no whole-file SHA-256 either: the partition \
            hashes and their composite check the object (as every download does), the server does \
            not read back partitions that arrived out of order, and the summary names the composite. \
            Interrupted or failed uploads are journalled: run the same command again and only the \
            partitions the server lacks are sent (if the file has not changed).
            Example: sluice upload ./backup.tar backups/2026-11-21.tar --parallel 8
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var transfer: TransferFlags
    @OptionGroup var retry: RetryFlags
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The local file to upload.")
    var local: String

    @Argument(help: "The object name; a name ending with '/' gets the file's name appended.")
    var remote: String

    @Option(help: "Bytes per partition, e.g. 8MiB; at most 64MiB. (default: 8MiB, more for very large files)")
    var partitionSize: ByteSize?

    @Option(help: "Media type stored with the object.")
    var contentType = ""

    @Flag(help: "Ask the server for no whole-file SHA-256 (the object is checked by its partition hashes and composite).")
    var noWholeSha256 = false

    func validate() throws {
        if let partitionSize, !(1...PartitionPlan.maxPartitionSize).contains(partitionSize.bytes) {
            throw ValidationError("--partition-size must be 1 byte to 64MiB")
        }
    }

    func run() async throws {
        let settings = try connection.resolved()
        var configured = UploadOptions(
            partitionSize: partitionSize?.bytes, parallelism: transfer.parallel, retry: retry.policy,
            contentType: contentType, journal: UploadJournal(directory: UploadJournal.defaultDirectory()))
        configured.owner = ownerFlag.owner
        configured.skipsWholeSHA256 = noWholeSha256
        let options = configured
        let (local, objectName) = (local, Uploader.objectName(for: local, remote: remote))
        try await ProgressReporter(json: transfer.json).run { progress in
            try await Interrupt.cancellable {
                try await settings.withClient { client in
                    try await Uploader(client: client, options: options).upload(
                        file: local, to: objectName, progress: progress)
                }
            }
        }
    }
}
