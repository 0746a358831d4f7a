import ArgumentParser
import SluiceClient

/// `sluice restore REMOTE VERSION`: makes an older version current again.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Make an older version of an object current again.",
        discussion: """
            The restore is a new version with the same bytes; no bytes are copied. It also brings \
            back an object deleted with `rm --keep-versions` or by `sluice sync`. With --if-version \
            the restore happens only while that version is the current one (as `sluice stat` showed \
            it): if another version was made since, nothing is restored and it exits 1 naming the \
            current version, so running it again after an answer was lost makes no second version.
            Example: sluice restore backups/latest.tar 3
            Example: sluice restore --if-version 5 backups/latest.tar 3
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The object name.")
    var remote: String

    @Argument(help: "The version to restore.")
    var version: Int64

    @Option(parsing: .unconditional, help: "Restore only if this is still the current version (nothing is restored otherwise).")
    var ifVersion: Int64?

    func validate() throws {
        guard version > 0 else { throw ValidationError("VERSION must be 1 or more") }
        guard ifVersion.map({ $0 > 0 }) ?? true else { throw ValidationError("--if-version must be 1 or more") }
    }

    func run() async throws {
        let settings = try connection.resolved()
        let object = try await settings.withClient { client in
            try await ObjectCatalog(client: client, owner: ownerFlag.owner).restore(
                remote, version: version, ifCurrentVersion: ifVersion ?? 0)
        }
        Output.line("restored \(remote) version \(version) as version \(object.version)")
    }
}
