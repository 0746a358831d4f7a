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
            brings one back. With --if-version the object is deleted only while that version is its \
            current one (as `sluice stat` showed it): if another version was made since, nothing is \
            deleted and it exits 1 naming the current version. Exits 3 if there is no such object.
            Example: sluice rm backups/old.tar
            Example: sluice rm --keep-versions notes.txt
            Example: sluice rm --if-version 4 notes.txt
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var ownerFlag: OwnerFlag

    @Argument(help: "The object name.")
    var remote: String

    @Flag(help: "Keep the versions: hide the object but let `sluice restore` bring a version back.")
    var keepVersions = false

    @Option(parsing: .unconditional, help: "Delete only if this is still the current version (nothing is deleted otherwise).")
    var ifVersion: Int64?

    func validate() throws {
        guard ifVersion.map({ $0 > 0 }) ?? true else { throw ValidationError("--if-version must be 1 or more") }
    }

    func run() async throws {
        let settings = try connection.resolved()
        let deleted = try await settings.withClient { client in
            try await ObjectCatalog(client: client, owner: ownerFlag.owner).delete(
                remote, keepVersions: keepVersions, ifCurrentVersion: ifVersion ?? 0)
        }
        if keepVersions {
            Output.line("deleted \(remote) (versions kept: sluice versions \(remote))")
        } else {
            Output.line("deleted \(remote) (\(deleted) version\(deleted == 1 ? "" : "s"))")
        }
    }
}
