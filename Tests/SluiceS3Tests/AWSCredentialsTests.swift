import Foundation
import SluiceS3
import Testing

/// The credential chain: environment first, then the shared credentials file, and errors that
/// say what to set.
@Suite struct AWSCredentialsTests {
    /// A scratch directory standing in for $HOME, removed when the test ends.
    final class Home {
        let path: String

        init() throws {
            path = FileManager.default.temporaryDirectory
                .appendingPathComponent("sluice-aws-credentials-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path + "/.aws", withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: path) }

        @discardableResult
        func write(_ text: String, to relativePath: String = ".aws/credentials") throws -> String {
            let file = path + "/" + relativePath
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            return file
        }
    }

    static let sharedFile = """
        # written by aws configure
        [default]
        aws_access_key_id = AKIDDEFAULT
        aws_secret_access_key=secret/default+key
        ; a comment between keys
          aws_session_token   =   token-default  

        [backup]
        AWS_ACCESS_KEY_ID = AKIDBACKUP
        aws_secret_access_key = secret#with=signs
        [ spaced ]
        aws_access_key_id = AKIDSPACED
        aws_secret_access_key = s
        [incomplete]
        aws_access_key_id = AKIDINCOMPLETE
        """

    @Test func environmentWins() throws {
        let home = try Home()
        try home.write(Self.sharedFile)
        let credentials = try AWSCredentials.load(environment: [
            "HOME": home.path, "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret",
        ])
        #expect(credentials == AWSCredentials(accessKeyID: "AKIDENV", secretAccessKey: "env-secret"))
    }

    @Test func environmentSessionToken() throws {
        let credentials = try AWSCredentials.load(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret", "AWS_SESSION_TOKEN": "env-token",
        ])
        #expect(credentials.sessionToken == "env-token")
    }

    @Test(arguments: [
        ["AWS_ACCESS_KEY_ID": "AKIDENV"], ["AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": ""],
    ])
    func onlyAccessKeyInEnvironmentIsAnError(_ environment: [String: String]) throws {
        let home = try Home()
        try home.write(Self.sharedFile)
        let error = #expect(throws: AWSCredentialsError.self) {
            try AWSCredentials.load(environment: environment.merging(["HOME": home.path]) { $1 })
        }
        #expect(error?.description.contains("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not") == true)
    }

    @Test func onlySecretInEnvironmentIsAnError() throws {
        let error = #expect(throws: AWSCredentialsError.self) {
            try AWSCredentials.load(environment: ["AWS_SECRET_ACCESS_KEY": "env-secret"])
        }
        #expect(error?.description.contains("set AWS_ACCESS_KEY_ID too") == true)
    }

    @Test func defaultProfileOfHomeFile() throws {
        let home = try Home()
        try home.write(Self.sharedFile)
        let credentials = try AWSCredentials.load(environment: ["HOME": home.path])
        #expect(
            credentials
                == AWSCredentials(
                    accessKeyID: "AKIDDEFAULT", secretAccessKey: "secret/default+key", sessionToken: "token-default"))
    }

    @Test func namedProfileKeysAnyCaseAndValuesKeepHashes() throws {
        let home = try Home()
        try home.write(Self.sharedFile)
        let credentials = try AWSCredentials.load(environment: ["HOME": home.path, "AWS_PROFILE": "backup"])
        #expect(credentials == AWSCredentials(accessKeyID: "AKIDBACKUP", secretAccessKey: "secret#with=signs"))
        let spaced = try AWSCredentials.load(environment: ["HOME": home.path, "AWS_PROFILE": "spaced"])
        #expect(spaced.accessKeyID == "AKIDSPACED")
    }

    @Test func explicitFileOverridesHome() throws {
        let home = try Home()
        try home.write(Self.sharedFile)
        let other = try home.write(
            "[default]\r\naws_access_key_id=AKIDOTHER\r\naws_secret_access_key=other\r\n", to: "other.ini")
        let credentials = try AWSCredentials.load(environment: [
            "HOME": home.path, "AWS_SHARED_CREDENTIALS_FILE": other,
        ])
        #expect(credentials == AWSCredentials(accessKeyID: "AKIDOTHER", secretAccessKey: "other"))
    }

    @Test func missingProfileNamesFileAndProfile() throws {
        let home = try Home()
        let file = try home.write(Self.sharedFile)
        let error = #expect(throws: AWSCredentialsError.self) {
            try AWSCredentials.load(environment: ["HOME": home.path, "AWS_PROFILE": "production"])
        }
        let description = error?.description ?? ""
        #expect(description.contains(file))
        #expect(description.contains("[production]"))
        #expect(description.contains("[backup]"))
        #expect(description.contains("AWS_PROFILE"))
    }

    @Test func profileWithoutSecretNamesTheKey() throws {
        let home = try Home()
        try home.write(Self.sharedFile)
        let error = #expect(throws: AWSCredentialsError.self) {
            try AWSCredentials.load(environment: ["HOME": home.path, "AWS_PROFILE": "incomplete"])
        }
        #expect(error?.description.contains("aws_secret_access_key") == true)
        #expect(error?.description.contains("[incomplete]") == true)
    }

    @Test func nothingAnywhereSaysWhatToSet() throws {
        let home = try Home()
        let error = #expect(throws: AWSCredentialsError.self) {
            try AWSCredentials.load(environment: ["HOME": home.path])
        }
        let description = error?.description ?? ""
        #expect(description.contains("AWS_ACCESS_KEY_ID"))
        #expect(description.contains("AWS_SECRET_ACCESS_KEY"))
        #expect(description.contains(home.path + "/.aws/credentials"))
    }

    @Test func explicitFileThatDoesNotExist() throws {
        let error = #expect(throws: AWSCredentialsError.self) {
            try AWSCredentials.load(environment: ["AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/sluice/credentials"])
        }
        #expect(error?.description.contains("AWS_SHARED_CREDENTIALS_FILE is /nonexistent/sluice/credentials") == true)
    }

    /// A credentials file rewritten while sluiced runs (temporary credentials renewed) is read
    /// again; one caught half written keeps the last good credentials in use.
    @Test func aRewrittenCredentialsFileIsReadAgain() throws {
        let home = try Home()
        try home.write("[default]\naws_access_key_id = AKIDFIRST\naws_secret_access_key = s1\naws_session_token = t1\n")
        let source = try AWSCredentialSource(environment: ["HOME": home.path])
        #expect(source.current().accessKeyID == "AKIDFIRST")
        try home.write("[default]\naws_access_key_id = AKIDRENEWED\naws_secret_access_key = s2\naws_session_token = t2\n")
        #expect(source.current() == AWSCredentials(accessKeyID: "AKIDRENEWED", secretAccessKey: "s2", sessionToken: "t2"))
        try home.write("[default]\naws_access_key_id = AKIDHALF\n")
        #expect(source.current().accessKeyID == "AKIDRENEWED")
        let fixed = try AWSCredentialSource(environment: [
            "HOME": home.path, "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "e",
        ])
        try home.write(Self.sharedFile)
        #expect(fixed.current().accessKeyID == "AKIDENV")
    }
}
