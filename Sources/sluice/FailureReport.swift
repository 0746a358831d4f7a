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
            standardError(command.fullMessage(for: error))
            Foundation.exit(SluiceExitCode.usage.rawValue)
        default:
            break
        }
        let status = SluiceExitCode(for: error)
        switch status {
        case .interrupted:
            standardError("sluice: interrupted; run the same command again to resume")
        default:
            standardError("sluice: error: \(error)\(hint(for: status))")
        }
        Foundation.exit(status.rawValue)
    }

    static func standardError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    private static func hint(for status: SluiceExitCode) -> String {
        switch status {
        case .denied:
            "\nsluice: check --cert/--key (the server must accept the certificate) and --ca (it must verify the server)"
        case .transient:
            "\nsluice: the server could not be reached or stayed busy; an upload or download resumes when run again"
        case .serverOutOfSpace:
            "\nsluice: the server is out of storage space; what was sent is kept, run the same upload again to resume once space was freed"
        case .quotaExceeded:
            "\nsluice: `sluice usage` shows what you store and your quotas"
        default:
            ""
        }
    }
}
