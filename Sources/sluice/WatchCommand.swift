import ArgumentParser
import Foundation
import SluiceClient
import SluiceProto
import SluiceRPC

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
            resumes right after it: at least once, never lost (a kill between printing and saving \
            prints those lines again). Without a saved cursor it starts from now. When the server \
            goes away it reconnects with the retry policy and resumes. A saved cursor the server \
            cannot resume from (older than its --change-retention, or from another server) stops \
            the watch with exit code 3, naming the cursor file: delete it to watch from now, and \
            list again (sluice ls -r PREFIX) to catch up.
            Example: sluice watch docs/ --json
            """)

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags

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
        let saved = try file.load()
        do {
            try await follow(settings: settings, file: file, from: saved)
        } catch let error as RPCError where error.code == .outOfRange {
            throw UnresumableCursorError(cursorFile: file.path, cursor: (try? file.load()) ?? saved, prefix: prefix)
        } catch let error as RPCError where error.code == .invalidArgument && !saved.isEmpty
            && error.message.contains("cursor")
        {
            throw UnreadableCursorFileError(
                cursorFile: file.path, reason: "the server refused the cursor it holds (\(error.message))")
        }
    }

    /// Prints changes from the saved cursor on, saving the cursor after each response.
    private func follow(settings: ConnectionSettings, file: WatchCursorFile, from saved: String) async throws {
        let json = json
        try await settings.withClient { client in
            try await ChangeFollower(client: client, retry: retry.policy).follow(
                from: saved, owner: owner, prefix: prefix,
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
