import ArgumentParser
import SluiceClient

/// `sluice versions REMOTE`: lists an object's versions.
struct VersionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "versions",
        abstract: "List the versions of an object, newest first.",
        discussion: """
            Each line shows version, size in bytes, commit time (UTC), SHA-256, and marks the \
            current version and versions made by a restore.
            Example: sluice versions backups/latest.tar
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The object name.")
    var remote: String

    func run() async throws {
        let settings = try connection.resolved()
        try await settings.withClient { client in
            try await ObjectCatalog(client: client, retry: retry.policy, owner: ownerFlag.owner).versions(of: remote) { Output.line(CatalogText.version($0)) }
        }
    }
}
