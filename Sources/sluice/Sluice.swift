import ArgumentParser
import Foundation
import SluiceClient
import SluiceOpenSSL

/// sluice: the Sluice command-line client.
@main
struct Sluice: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "The Sluice command-line client: resumable, parallel, verified uploads and downloads.",
        discussion: """
            Connection settings come from flags, else from SLUICE_SERVER, SLUICE_CA, SLUICE_CERT and \
            SLUICE_KEY, else from a configuration file (--config, else $SLUICE_CONFIG, else \
            ~/.config/sluice/config) of `key = value` lines: server, ca, cert, key.

            Unfinished uploads are journalled under $SLUICE_STATE_DIR/journal (default \
            ~/.local/state/sluice/journal); running the same upload again resumes it.

            \(SluiceExitCode.helpText)
            """,
        subcommands: [
            UploadCommand.self, DownloadCommand.self, ListCommand.self, StatCommand.self, RemoveCommand.self,
            VersionsCommand.self, RestoreCommand.self, SessionsCommand.self, HealthCommand.self, WhoamiCommand.self,
            ShareCommand.self, UnshareCommand.self, SharesCommand.self,
            WatchCommand.self, SyncCommand.self, UsageCommand.self, AdminCommand.self,
        ])

    /// Runs the command, then turns any failure into one message and the documented exit code.
    /// OpenSSL is set up first, before anything touches it (see `OpenSSLLibrary`).
    static func main() async {
        OpenSSLLibrary.initializeWithoutExitCleanup()
        var running: ParsableCommand.Type = self
        do {
            var command = try parseAsRoot()
            running = type(of: command)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            FailureReport.exit(for: error, command: self, running: running)
        }
    }
}
