import ArgumentParser
import SluiceClient

/// `sluice usage`: what you store and move, and your limits.
struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Show what you store (logical and physical bytes, objects, versions), your traffic and your limits.",
        discussion: """
            Logical bytes count every version of every object you own; physical bytes count the \
            distinct stored partitions once (after deduplication). Traffic is request and response \
            message bytes per UTC day. Quotas and rate limits of 'unlimited' are not enforced.
            Example: sluice usage --days 30 --json
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags

    @OptionGroup var days: UsageDaysFlag

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let settings = try connection.resolved()
        let usage = try await settings.withClient { client in try await UsageCatalog(client: client, retry: retry.policy).mine(days: days.days) }
        if json {
            Output.line(UsageText.json(usage), json: true)
        } else {
            UsageText.lines(usage).forEach { Output.line($0) }
        }
    }
}
