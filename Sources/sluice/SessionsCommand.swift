import ArgumentParser

/// `sluice sessions`: the caller's upload sessions.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List or abort your upload sessions.",
        discussion: """
            Example: sluice sessions --open
            Example: sluice sessions abort 3f2a0c...
            """,
        subcommands: [SessionsListCommand.self, SessionsAbortCommand.self],
        defaultSubcommand: SessionsListCommand.self)
}
