import ArgumentParser
import SluiceClient

/// `sluice stat REMOTE`: describes one object version.
struct StatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stat",
        abstract: "Describe an object version.",
        discussion: """
            Prints name, version, size, SHA-256, media type, times, partitioning and metadata.
            Example: sluice stat backups/2026-11-21.tar --version 2
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The object name.")
    var remote: String

    @Option(parsing: .unconditional, help: "The version to describe; the current one by default.")
    var version: Int64 = 0

    @Flag(help: "Also list every partition: index, offset, size, SHA-256.")
    var partitions = false

    func run() async throws {
        let settings = try connection.resolved()
        let object = try await settings.withClient { client in
            try await ObjectCatalog(client: client, retry: retry.policy, owner: ownerFlag.owner).describe(remote, version: version)
        }
        CatalogText.details(object).forEach { Output.line($0) }
        if partitions {
            object.partitions.forEach { Output.line(CatalogText.partition($0)) }
        }
    }
}
