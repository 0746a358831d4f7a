import ArgumentParser
import SluiceClient
import SluiceRPC

/// `sluice share PATH HANDLE --read|--write`: grants another principal access to your objects.
struct ShareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share",
        abstract: "Let another principal read or write your object or folder.",
        discussion: """
            A PATH ending with '/' shares every object under it (a folder: 'docs/' covers \
            'docs/a/b', never 'docsx'); any other PATH shares that one object (--object forces \
            that for a name ending with '/'). HANDLE is the other principal's handle (`sluice whoami` \
            shows yours). Sharing again changes the access. Only you can share your objects: whoever \
            you share with cannot share them on, and the line printed names the owner (you). \
            An object PATH you have no object at is refused (exit 3: most often the name of an \
            object shared with you, which only its owner can share) unless --allow-missing; a \
            folder can be shared before anything is in it. Exits 3 if no principal has the handle.
            Example: sluice share projects/plan/ bob --write
            """)

    @OptionGroup var connection: ClientOptions

    @Argument(help: "The object name, or a folder prefix ending with '/'.")
    var path: String

    @Argument(help: "The handle of the principal to share with.")
    var handle: String

    @Flag(help: "Read access (get, list, download, versions), or write access (also upload, rm, restore).")
    var access: Access

    @Flag(help: "Share the one object named PATH even though it ends with '/'.")
    var object = false

    @Flag(help: "Share an object name you have no object at yet (for an object you will upload).")
    var allowMissing = false

    @Flag(help: "Print the grant as a JSON object.")
    var json = false

    enum Access: String, EnumerableFlag {
        case read, write
    }

    func run() async throws {
        let settings = try connection.resolved()
        let checkObject = ShareCatalog.scope(of: path, object: object) == .object && !allowMissing
        let grant = try await settings.withClient { client in
            if checkObject {
                let catalog = ObjectCatalog(client: client)
                do {
                    _ = try await catalog.describe(path)
                } catch let error as RPCError where error.code == .notFound {
                    throw NothingToShareError(path: path, folderExists: try await catalog.hasObjects(under: path + "/"))
                }
            }
            return try await ShareCatalog(client: client).grant(
                path: path, to: handle, write: access == .write, object: object)
        }
        Output.line(
            json ? GrantText.json(grant, direction: "mine") : "shared \(GrantText.line(grant)) (owner: \(grant.owner), you)",
            json: json)
    }
}
