import ArgumentParser
import Foundation
import SluiceClient
import SluiceProto

/// `sluice watch [PREFIX]`: prints changes as they commit, resuming where it stopped.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print changes as they commit (new versions, deletions, grants).",
        discussion: """
            Prints one line per change the caller can see, under PREFIX, as it commits: \
            commit time (UTC), kind, owner, name, version, size and the change's cursor; with --json \
            one JSON object per line. Runs until interrupted. After each response the cursor is saved \
            (--cursor-file, else one file per server, owner and prefix under \
            $SLUICE_STATE_DIR/watch, default ~/.local/state/sluice/watch), and a restarted watch \
            resumes right after it: nothing missed, nothing twice. Without a saved cursor it starts \
            from now. When the server goes away it reconnects with the retry policy and resumes. A \
            cursor older than the server's --change-retention fails with OUT_OF_RANGE: delete the \
            cursor file to start from now (and list again to resynchronise).
            Example: sluice watch docs/ --json
            """)

    @OptionGroup var connection: ClientOptions

    @Argument(help: "Only changes to names starting with this.")
    var prefix = ""

    @Option(help: "Only changes to this owner's objects (a principal's handle).")
    var owner = ""

    @Flag(help: "One JSON object per change.")
    var json = false

    @Option(help: "The file that keeps the last cursor.")
    var cursorFile: String?

    func run() async throws {
        let settings = try connection.resolved()
        let file = cursorFile.map(WatchCursorFile.init(path:))
            ?? WatchCursorFile.standard(server: settings.server, owner: owner, prefix: prefix)
        let json = json
        try await settings.withClient { client in
            try await ChangeFollower(client: client).follow(
                from: file.load(), owner: owner, prefix: prefix,
                onRetry: { notice in
                    Output.write(["sluice watch: reconnecting (\(notice.error.message))"], to: .standardError)
                },
                onResponse: { response in
                    // Written straight to the descriptor (unbuffered), so each line is out before
                    // its cursor is saved, also when standard output is a pipe.
                    Output.write(response.changes.map(json ? ChangeText.json : ChangeText.line), json ? .json : .text)
                    try file.save(response.cursor)
                })
        }
    }
}
