import ArgumentParser
import Foundation
import SluiceClient

/// Ends the process after a failure: one message on standard error, the advice
/// `FailureHint` has for it, and the exit code `SluiceExitCode` assigns.
enum FailureReport {
    static func exit(for error: any Error, command: Sluice.Type) -> Never {
        if let code = error as? ExitCode { command.exit(withError: code) }
        // Help and version requests, and errors of the command line itself.
        switch command.exitCode(for: error) {
        case .success:
            command.exit(withError: error)
        case .validationFailure:
            Output.write([command.fullMessage(for: error)], .verbatim, to: .standardError)
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
}
