import ArgumentParser
import SluiceClient

/// `sluice rm REMOTE`: deletes an object with all its versions.
struct RemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete an object and all of its versions.",
        discussion: """
            The server reclaims the bytes once nothing refers to them. Exits 3 if there is no such object.
            Example: sluice rm backups/old.tar
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The object name.")
    var remote: String

    func run() async throws {
        let settings = try connection.resolved()
        let deleted = try await settings.withClient { client in
            try await ObjectCatalog(client: client, owner: ownerFlag.owner).delete(remote)
        }
        print("deleted \(remote) (\(deleted) version\(deleted == 1 ? "" : "s"))")
    }
}
