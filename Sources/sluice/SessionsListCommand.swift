import ArgumentParser
import SluiceClient

/// `sluice sessions [list]`: lists the caller's upload sessions.
struct SessionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List your upload sessions, newest first.",
        discussion: """
            Each line shows the session id, state, partitions and bytes stored, expiry (UTC) and \
            object name.
            Example: sluice sessions list --open
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags

    @Flag(help: "Only sessions still open.")
    var open = false

    func run() async throws {
        let settings = try connection.resolved()
        try await settings.withClient { client in
            try await SessionCatalog(client: client, retry: retry.policy).list(openOnly: open) { Output.line(CatalogText.session($0)) }
        }
    }
}
