import ArgumentParser
import SluiceClient

/// `sluice sessions abort ID`: abandons an upload session.
struct SessionsAbortCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abort",
        abstract: "Abort an upload session; the server reclaims its partitions.",
        discussion: "Example: sluice sessions abort 3f2a0c9d1e8b4a7f6c5d4e3f2a1b0c9d")

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags

    @Argument(help: "The session id, as `sluice sessions` shows it.")
    var id: String

    func run() async throws {
        let settings = try connection.resolved()
        let session = try await settings.withClient { client in
            try await SessionCatalog(client: client, retry: retry.policy).abort(id)
        }
        Output.line("session \(session.sessionID) is \(CatalogText.stateName(session.state))")
    }
}
