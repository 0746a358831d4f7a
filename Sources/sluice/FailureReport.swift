import ArgumentParser
import Foundation
import SluiceClient

/// Ends the process after a failure: one message on standard error, the advice
/// `FailureHint` has for it, and the exit code `SluiceExitCode` assigns.
enum FailureReport {
    /// - Parameter running: the (sub)command that was parsed, whose usage a usage error shows.
    static func exit(for error: any Error, command: Sluice.Type, running: ParsableCommand.Type) -> Never {
        if let code = error as? ExitCode { command.exit(withError: code) }
        // Help and version requests, and errors of the command line itself.
        switch command.exitCode(for: error) {
        case .success:
            command.exit(withError: error)
        case .validationFailure:
            Output.write([usageMessage(for: error, command: command, running: running)], .verbatim, to: .standardError)
            Foundation.exit(SluiceExitCode.usage.rawValue)
        default:
            break
        }
        let status = SluiceExitCode(for: error)
        switch status {
        case .interrupted:
            Output.write(["sluice: interrupted; run the same command again to resume"], to: .standardError)
        default:
            // The error's text carries the server's message: escaped as any line is.
            let hint = FailureHint.text(for: error).map { ["sluice: " + $0] } ?? []
            Output.write(["sluice: error: \(error)"] + hint, to: .standardError)
        }
        Foundation.exit(status.rawValue)
    }

    /// The message of a usage error with the usage of the command it is about. The argument
    /// parser knows that command for errors it finds while parsing; an error a command finds
    /// once it runs (a bad `--set` of `admin limits`, `--cert` without `--key`) reaches here
    /// without it, and would show the top-level usage, which does not help.
    private static func usageMessage(for error: any Error, command: Sluice.Type, running: ParsableCommand.Type) -> String {
        guard error is ValidationError, running != command, let path = commandPath(to: running, from: command) else {
            return command.fullMessage(for: error)
        }
        let names = path.map { $0._commandName }.joined(separator: " ")
        return "Error: \(command.message(for: error))\nUsage: \(command.usageString(for: running))\n"
            + "  See '\(names) --help' for more information."
    }

    /// The commands from `root` down to `target`, both included.
    private static func commandPath(to target: ParsableCommand.Type, from root: ParsableCommand.Type) -> [ParsableCommand.Type]? {
        if root == target { return [root] }
        for sub in root.configuration.subcommands {
            if let path = commandPath(to: target, from: sub) { return [root] + path }
        }
        return nil
    }
}
