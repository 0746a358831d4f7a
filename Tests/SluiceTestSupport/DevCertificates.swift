import Foundation

/// The development certificates in certs/ (made by scripts/make-certs.sh), located from
/// this file's path; made on first use when they are missing. Shared by every Swift test
/// target that needs real TLS.
public enum DevCertificates {
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The certs/ directory, made ready once per process.
    public static let directory: URL = {
        let directory = repositoryRoot.appendingPathComponent("certs")
        let names = ["ca", "server", "client", "client2", "expired-client", "other-ca", "other-client"]
        let missing = names.contains { name in
            !FileManager.default.fileExists(atPath: directory.appendingPathComponent("\(name).pem").path)
                || !FileManager.default.fileExists(atPath: directory.appendingPathComponent("\(name)-key.pem").path)
        }
        if missing {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["bash", repositoryRoot.appendingPathComponent("scripts/make-certs.sh").path]
            try! process.run()
            process.waitUntilExit()
            precondition(process.terminationStatus == 0, "scripts/make-certs.sh failed")
        }
        return directory
    }()

    /// The path of `certs/NAME.pem`.
    public static func certificate(_ name: String) -> String { directory.appendingPathComponent("\(name).pem").path }
    /// The path of `certs/NAME-key.pem`.
    public static func key(_ name: String) -> String { directory.appendingPathComponent("\(name)-key.pem").path }
}
