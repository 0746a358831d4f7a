import ArgumentParser
import SluiceClient

/// `sluice unshare PATH HANDLE`: revokes a grant.
struct UnshareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unshare",
        abstract: "Stop sharing an object or folder with a principal.",
        discussion: """
            PATH and HANDLE as given to `sluice share` (a PATH ending with '/' is a folder unless \
            --object). Takes effect on the other principal's next call; an upload it has open under \
            the folder can no longer commit. Exits 3 if there is no such grant.
            Example: sluice unshare projects/plan/ bob
            """)

    @OptionGroup var connection: ClientOptions

    @Argument(help: "The object name, or a folder prefix ending with '/'.")
    var path: String

    @Argument(help: "The handle of the principal to stop sharing with.")
    var handle: String

    @Flag(help: "The grant is on the one object named PATH even though it ends with '/'.")
    var object = false

    @Flag(help: "Print the revoked grant as a JSON object.")
    var json = false

    func run() async throws {
        let settings = try connection.resolved()
        let grant = try await settings.withClient { client in
            try await ShareCatalog(client: client).revoke(path: path, from: handle, object: object)
        }
        Output.line(json ? GrantText.json(grant, direction: "mine") : "unshared \(GrantText.line(grant))", json: json)
    }
}
