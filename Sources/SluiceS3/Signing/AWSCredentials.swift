import Foundation

/// An access key pair (and, for temporary credentials, a session token) that signs S3 requests.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Present for temporary credentials (STS, SSO, instance roles); sent as `x-amz-security-token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// The standard AWS chain, first that has them wins: environment AWS_ACCESS_KEY_ID +
    /// AWS_SECRET_ACCESS_KEY (+ optional AWS_SESSION_TOKEN); else the shared credentials file
    /// (AWS_SHARED_CREDENTIALS_FILE, or $HOME/.aws/credentials), INI profile AWS_PROFILE or
    /// "default", keys aws_access_key_id, aws_secret_access_key, aws_session_token.
    ///
    /// Throws ``AWSCredentialsError`` whose description tells an operator exactly what to set.
    /// Empty variables count as unset, as they do for the AWS CLI.
    public static func load(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> AWSCredentials {
        switch try locate(environment: environment) {
        case .environment(let credentials): return credentials
        case .file(let path, let profile): return try fromFile(path, profile: profile)
        }
    }

    /// Where ``load(environment:)`` finds credentials: in the environment (fixed for the
    /// process's life), or in a shared credentials file (which may be rewritten while it runs).
    enum Location: Equatable {
        case environment(AWSCredentials)
        case file(path: String, profile: String)
    }

    /// Finds where the credentials are, per the chain ``load(environment:)`` describes; throws
    /// as it does when there are none.
    static func locate(environment: [String: String]) throws -> Location {
        func variable(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        switch (variable("AWS_ACCESS_KEY_ID"), variable("AWS_SECRET_ACCESS_KEY")) {
        case let (accessKeyID?, secretAccessKey?):
            return .environment(AWSCredentials(
                accessKeyID: accessKeyID, secretAccessKey: secretAccessKey,
                sessionToken: variable("AWS_SESSION_TOKEN")))
        case (.some, nil):
            throw AWSCredentialsError(
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set AWS_SECRET_ACCESS_KEY too, "
                    + "or unset AWS_ACCESS_KEY_ID to use the shared credentials file")
        case (nil, .some):
            throw AWSCredentialsError(
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not: set AWS_ACCESS_KEY_ID too, "
                    + "or unset AWS_SECRET_ACCESS_KEY to use the shared credentials file")
        case (nil, nil):
            break
        }

        let profile = variable("AWS_PROFILE") ?? "default"
        let explicitFile = variable("AWS_SHARED_CREDENTIALS_FILE")
        guard let path = explicitFile ?? variable("HOME").map({ $0 + "/.aws/credentials" }) else {
            throw AWSCredentialsError(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
                    + "temporary credentials), or AWS_SHARED_CREDENTIALS_FILE to a credentials file "
                    + "(HOME is not set, so ~/.aws/credentials cannot be found)")
        }
        guard FileManager.default.fileExists(atPath: path) else {
            if explicitFile != nil {
                throw AWSCredentialsError(
                    "AWS_SHARED_CREDENTIALS_FILE is \(path), which does not exist: point it at a credentials file "
                        + "with a [\(profile)] profile, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
            }
            throw AWSCredentialsError(
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for "
                    + "temporary credentials), or create \(path) with a [\(profile)] profile holding "
                    + "aws_access_key_id and aws_secret_access_key (AWS_SHARED_CREDENTIALS_FILE names another file, "
                    + "AWS_PROFILE another profile)")
        }
        return .file(path: path, profile: profile)
    }

    /// Reads the credentials of `profile` from the shared credentials file at `path`.
    static func fromFile(_ path: String, profile: String) throws -> AWSCredentials {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw AWSCredentialsError(
                "cannot read the AWS credentials file \(path): \(error.localizedDescription); make it readable "
                    + "UTF-8 text, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead")
        }
        return try fromSharedFile(text, path: path, profile: profile)
    }

    private static func fromSharedFile(_ text: String, path: String, profile: String) throws -> AWSCredentials {
        let sections = SharedCredentialsFile.sections(of: text)
        guard let keys = sections[profile] else {
            let found = sections.keys.sorted().map { "[\($0)]" }.joined(separator: ", ")
            throw AWSCredentialsError(
                "the AWS credentials file \(path) has no [\(profile)] profile"
                    + (found.isEmpty ? "" : " (it has \(found))")
                    + ": add one with aws_access_key_id and aws_secret_access_key, or set AWS_PROFILE to one it has")
        }
        func required(_ key: String) throws -> String {
            guard let value = keys[key], !value.isEmpty else {
                throw AWSCredentialsError(
                    "profile [\(profile)] in the AWS credentials file \(path) has no \(key): add "
                        + "\"\(key) = ...\" to it")
            }
            return value
        }
        let sessionToken = keys["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 }
        return AWSCredentials(
            accessKeyID: try required("aws_access_key_id"),
            secretAccessKey: try required("aws_secret_access_key"),
            sessionToken: sessionToken)
    }
}

extension AWSCredentials: CustomStringConvertible {
    /// Names the key but never shows the secret or the token, so credentials that end up in a
    /// log line or an error message leak nothing usable.
    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>, sessionToken: "
            + (sessionToken == nil ? "none" : "<redacted>") + ")"
    }
}

/// Why ``AWSCredentials/load(environment:)`` found no usable credentials, worded as what to set.
public struct AWSCredentialsError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The INI dialect of ~/.aws/credentials, as far as credentials need it.
enum SharedCredentialsFile {
    /// Each `[section]` with its `key = value` pairs. Keys are lower-cased, as the AWS CLI's
    /// parser does; section names keep their case. Whole-line `#` and `;` comments are
    /// skipped; a `#` inside a value is part of it (secrets may contain one).
    static func sections(of text: String) -> [String: [String: String]] {
        var sections: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: true, whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let name = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = name
                if sections[name] == nil { sections[name] = [:] }
                continue
            }
            guard let section = current, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            sections[section, default: [:]][key] = value
        }
        return sections
    }
}
