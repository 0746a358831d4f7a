import ArgumentParser
import SluiceClient

/// `sluice ls [PREFIX]`: folder-style listing of objects.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List objects, folder-style.",
        discussion: """
            Lists the current versions of objects whose names start with PREFIX, rolling names that \
            continue past the next '/' up into one 'folder/' line (unless --recursive). Pages through \
            every result. With -l each line shows size in bytes, version, commit time (UTC), SHA-256 \
            and name.
            Example: sluice ls -l backups/
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "Only names starting with this are listed.")
    var prefix = ""

    @Flag(name: .short, help: "Long format: size, version, time and SHA-256.")
    var long = false

    @Flag(name: [.short, .long], help: "List every name under the prefix, without rolling up folders.")
    var recursive = false

    func run() async throws {
        let settings = try connection.resolved()
        try await settings.withClient { client in
            try await ObjectCatalog(client: client, retry: retry.policy, owner: ownerFlag.owner).list(prefix: prefix, delimiter: recursive ? "" : "/") { entry in
                Output.line(CatalogText.listing(entry, long: long))
            }
        }
    }
}
