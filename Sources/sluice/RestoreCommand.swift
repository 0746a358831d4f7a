import ArgumentParser
import SluiceClient

/// `sluice restore REMOTE VERSION`: makes an older version current again.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Make an older version of an object current again.",
        discussion: """
            The restore is a new version with the same bytes; no bytes are copied. It also brings \
            back an object deleted with `rm --keep-versions` or by `sluice sync`.
            Example: sluice restore backups/latest.tar 3
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The object name.")
    var remote: String

    @Argument(help: "The version to restore.")
    var version: Int64

    func validate() throws {
        guard version > 0 else { throw ValidationError("VERSION must be 1 or more") }
    }

    func run() async throws {
        let settings = try connection.resolved()
        let object = try await settings.withClient { client in
            try await ObjectCatalog(client: client, owner: ownerFlag.owner).restore(remote, version: version)
        }
        Output.line("restored \(remote) version \(version) as version \(object.version)")
    }
}
