import ArgumentParser
import Foundation
import SluiceClient

/// Ends the process after a failure: one message on standard error and the exit code
/// `SluiceExitCode` assigns.
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
            Output.write(["sluice: error: \(error)"] + hint(for: status), to: .standardError)
        }
        Foundation.exit(status.rawValue)
    }

    private static func hint(for status: SluiceExitCode) -> [String] {
        switch status {
        case .denied:
            ["sluice: check --cert/--key (the server must accept the certificate) and --ca (it must verify the server)"]
        case .transient:
            ["sluice: the server could not be reached or stayed busy; an upload or download resumes when run again"]
        case .serverOutOfSpace:
            ["sluice: the server is out of storage space; what was sent is kept, run the same upload again to resume once space was freed"]
        case .quotaExceeded:
            ["sluice: `sluice usage` shows what you store and your quotas"]
        default:
            []
        }
    }
}
