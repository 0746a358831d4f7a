import ArgumentParser

/// sluice: the Sluice command-line client.
@main
struct Sluice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "The Sluice command-line client.",
        discussion: "Connection settings come from flags or from SLUICE_SERVER, SLUICE_CA, SLUICE_CERT and SLUICE_KEY.",
        subcommands: [HealthCommand.self])
}
