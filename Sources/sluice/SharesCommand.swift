import ArgumentParser
import SluiceClient

/// `sluice shares`: the grants you made and those made to you.
struct SharesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shares",
        abstract: "List what you share and what is shared with you.",
        discussion: """
            Prints the grants you made ('mine'), then those others made to you ('shared with me'), \
            one per line: scope, path, access, owner -> grantee. Use an owner's objects with \
            --owner HANDLE on ls, stat, download, upload, rm, versions and restore.
            Example: sluice shares --json
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags

    @Flag(help: "One JSON object per grant, with direction 'mine' or 'shared-with-me'.")
    var json = false

    func run() async throws {
        let settings = try connection.resolved()
        let json = json
        try await settings.withClient { client in
            let catalog = ShareCatalog(client: client, retry: retry.policy)
            if !json { Output.line("mine:") }
            try await catalog.grantsMade { grant in
                Output.line(json ? GrantText.json(grant, direction: "mine") : "  " + GrantText.line(grant), json: json)
            }
            if !json { Output.line("shared with me:") }
            try await catalog.grantsReceived { grant in
                Output.line(json ? GrantText.json(grant, direction: "shared-with-me") : "  " + GrantText.line(grant), json: json)
            }
        }
    }
}
