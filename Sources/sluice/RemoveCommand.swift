import ArgumentParser
import SluiceClient

/// `sluice rm REMOTE`: deletes an object with all its versions, or (`--keep-versions`) hides
/// it and keeps its versions restorable.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete an object and all of its versions (or, with --keep-versions, only hide it).",
        discussion: """
            The server reclaims the bytes once nothing refers to them. With --keep-versions the object \
            only stops being current: `sluice versions` still lists its versions and `sluice restore` \
            brings one back. Exits 3 if there is no such object.
            Example: sluice rm backups/old.tar
            Example: sluice rm --keep-versions notes.txt
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The object name.")
    var remote: String

    @Flag(help: "Keep the versions: hide the object but let `sluice restore` bring a version back.")
    var keepVersions = false

    func run() async throws {
        let settings = try connection.resolved()
        let deleted = try await settings.withClient { client in
            try await ObjectCatalog(client: client, owner: ownerFlag.owner).delete(remote, keepVersions: keepVersions)
        }
        if keepVersions {
            Output.line("deleted \(remote) (versions kept: sluice versions \(remote))")
        } else {
            Output.line("deleted \(remote) (\(deleted) version\(deleted == 1 ? "" : "s"))")
        }
    }
}
