import ArgumentParser
import Foundation
import Testing

@testable import SluiceClient
@testable import SluiceHTTP2

/// Connection settings: the configuration file, and flags over environment over file.
@Suite struct ConnectionSettingsTests {
    @Test func parsesKeyValueLines() throws {
        let file = try ConfigFile(text: """
            # comment
            server = files.example:8443

            ca = /etc/sluice/ca.pem
            cert="certs/me.pem"
            KEY = 'me-key.pem'
            """, path: "/home/u/.config/sluice/config")
        #expect(file.values == [
            "server": "files.example:8443", "ca": "/etc/sluice/ca.pem",
            "cert": "/home/u/.config/sluice/certs/me.pem", "key": "/home/u/.config/sluice/me-key.pem",
        ])
    }

    @Test func expandsTheHomeDirectory() throws {
        let file = try ConfigFile(text: "ca = ~/ca.pem", path: "/etc/config")
        #expect(file.values["ca"] == (NSHomeDirectory() as NSString).appendingPathComponent("ca.pem"))
    }

    @Test(arguments: [
        ("server 127.0.0.1:1", 1), ("colour = blue", 1), ("\nca =", 2),
    ])
    func refusesBadLines(text: String, line: Int) {
        #expect {
            _ = try ConfigFile(text: text, path: "/c")
        } throws: { error in
            (error as? ConfigFileError)?.line == line
        }
    }

    @Test func flagsWinOverEnvironmentOverFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let config = directory.file("config")
        try Data("server = file:1\nca = /file/ca\ncert = /file/cert\nkey = /file/key\n".utf8)
            .write(to: URL(fileURLWithPath: config))

        let fileOnly = try ClientOptions.parse(["--config", config]).resolved(environment: [:])
        #expect(fileOnly == ConnectionSettings(server: "file:1", ca: "/file/ca", cert: "/file/cert", key: "/file/key"))

        let environment = ["SLUICE_SERVER": "env:2", "SLUICE_CA": "/env/ca", "SLUICE_CONFIG": config]
        let withEnvironment = try ClientOptions.parse([]).resolved(environment: environment)
        #expect(withEnvironment
            == ConnectionSettings(server: "env:2", ca: "/env/ca", cert: "/file/cert", key: "/file/key"))

        let withFlags = try ClientOptions.parse(["--server", "flag:3", "--cert", "/f/c", "--key", "/f/k"])
            .resolved(environment: environment)
        #expect(withFlags == ConnectionSettings(server: "flag:3", ca: "/env/ca", cert: "/f/c", key: "/f/k"))
    }

    @Test func defaultsWithoutAnySource() throws {
        let settings = try ClientOptions.parse([]).resolved(environment: ["HOME": "/nonexistent-home"])
        #expect(settings == ConnectionSettings())
    }

    @Test func aNamedConfigFileMustExist() {
        #expect(throws: ConfigFileError.self) {
            _ = try ClientOptions.parse(["--config", "/nonexistent/config"]).resolved(environment: [:])
        }
    }

    @Test func certAndKeyGoTogether() {
        #expect(throws: ValidationError.self) {
            _ = try ClientOptions.parse(["--cert", "/c"]).resolved(environment: ["HOME": "/nonexistent-home"])
        }
    }

    @Test func hostAndPort() throws {
        #expect(try ConnectionSettings.hostAndPort("example.com:8443") == ("example.com", 8443))
        #expect(try ConnectionSettings.hostAndPort("[::1]:9") == ("::1", 9))
        #expect(throws: ValidationError.self) { try ConnectionSettings.hostAndPort("example.com") }
        #expect(throws: ValidationError.self) { try ConnectionSettings.hostAndPort(":80") }
        #expect(throws: ValidationError.self) { try ConnectionSettings.hostAndPort("h:70000") }
    }

    /// A download stream over a long round trip is not held to its first 8 MiB window per two
    /// round trips: the window may grow as far as the connection's, which bounds what all
    /// streams hold together (when it grows: SluiceHTTP2Tests' StreamWindowGrowthTests).
    @Test func streamWindowsMayGrowAsFarAsTheConnectionWindow() throws {
        let transport = try ConnectionSettings(server: "127.0.0.1:1", plaintext: true).makeTransport()
        #expect(transport.settings.streamWindowSize == 8 << 20)
        #expect(transport.settings.maxStreamWindowSize == transport.settings.connectionWindowSize)
        #expect(transport.settings.connectionWindowSize == 64 << 20)
    }
}
