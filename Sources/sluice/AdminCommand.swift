import ArgumentParser
import SluiceClient
import SluiceProto

/// `sluice admin …`: the operator's commands (AdminService); the server allows them only to
/// the principals it names with --admin.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Administer principals: list, register, limits, usage, disable, enable, abort sessions.",
        discussion: """
            Only principals named by sluiced's --admin may run these; anyone else gets exit code 4 \
            (PERMISSION_DENIED). Each action is logged by the server with who did it.
            """,
        subcommands: [
            AdminPrincipalsCommand.self, AdminRegisterCommand.self, AdminLimitsCommand.self, AdminUsageCommand.self,
            AdminDisableCommand.self, AdminEnableCommand.self, AdminAbortSessionsCommand.self,
        ])
}

/// `sluice admin principals`: every principal, with its overrides.
struct AdminPrincipalsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "principals", abstract: "List every principal: handle, identity, flags and limit overrides.")

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags

    @Flag(help: "One JSON object per principal.")
    var json = false

    func run() async throws {
        let settings = try connection.resolved()
        let json = json
        try await settings.withClient { client in
            try await UsageCatalog(client: client, retry: retry.policy).principals { record in
                Output.line(json ? UsageText.json(record) : UsageText.line(record), json: json)
            }
        }
    }
}

/// `sluice admin register HANDLE IDENTITY`.
struct AdminRegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register", abstract: "Record a principal ahead of its first call.",
        discussion: "Example: sluice admin register carol 'CN=carol'")

    @OptionGroup var connection: ClientOptions

    @Argument(help: "Its handle: 1 to 64 of a-z, 0-9, '.', '_' and '-'.")
    var handle: String

    @Argument(help: "Its identity, as the server's --principal-from names it (sluice whoami prints it).")
    var identity: String

    @Flag(help: "Print the principal as a JSON object.")
    var json = false

    func run() async throws {
        let settings = try connection.resolved()
        let record = try await settings.withClient { client in
            try await UsageCatalog(client: client).register(handle: handle, identity: identity)
        }
        Output.line(json ? UsageText.json(record) : UsageText.line(record), json: json)
    }
}

/// `sluice admin limits HANDLE [--set NAME=VALUE]… [--clear NAME]…`.
struct AdminLimitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limits", abstract: "Set or clear a principal's quota and rate-limit overrides.",
        discussion: """
            NAME is one of \(UsageText.limitNames.map(\.name).joined(separator: ", ")). A value of 0 \
            means unlimited; --clear returns the limit to the server's default. Without --set or \
            --clear, prints the principal's limits.
            Example: sluice admin limits bob --set quota-bytes=10737418240 --set rate-requests=50
            """)

    @OptionGroup var connection: ClientOptions

    @Argument(help: "The principal's handle.")
    var handle: String

    @Option(help: "NAME=VALUE (repeatable).")
    var set: [String] = []

    @Option(help: "NAME (repeatable).")
    var clear: [String] = []

    @Flag(help: "Print the principal as a JSON object.")
    var json = false

    func run() async throws {
        var changes: [Sluice_V1_Limit: Int64] = [:]
        for pair in set {
            let parts = pair.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let limit = Self.limit(parts[0]), let value = Int64(parts[1]), value >= 0 else {
                throw ValidationError("--set '\(pair)' must be NAME=VALUE, NAME one of "
                    + "\(UsageText.limitNames.map(\.name).joined(separator: ", ")), VALUE a non-negative integer")
            }
            changes[limit] = value
        }
        let cleared = try clear.map { name in
            guard let limit = Self.limit(name) else {
                throw ValidationError("--clear '\(name)' must be one of \(UsageText.limitNames.map(\.name).joined(separator: ", "))")
            }
            return limit
        }
        let settings = try connection.resolved()
        let record = try await settings.withClient { client in
            try await UsageCatalog(client: client).setLimits(handle: handle, set: changes, clear: cleared)
        }
        Output.line(json ? UsageText.json(record) : UsageText.line(record), json: json)
    }

    static func limit(_ name: String) -> Sluice_V1_Limit? {
        UsageText.limitNames.first { $0.name == name }?.limit
    }
}

/// `sluice admin usage HANDLE`.
struct AdminUsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "Show any principal's usage (as `sluice usage` shows yours).")

    @OptionGroup var connection: ClientOptions
    @OptionGroup var retry: RetryFlags

    @Argument(help: "The principal's handle.")
    var handle: String

    @OptionGroup var days: UsageDaysFlag

    @Flag(help: "Print one JSON object.")
    var json = false

    func run() async throws {
        let settings = try connection.resolved()
        let usage = try await settings.withClient { client in
            try await UsageCatalog(client: client, retry: retry.policy).of(handle: handle, days: days.days)
        }
        if json {
            Output.line(UsageText.json(usage), json: true)
        } else {
            UsageText.lines(usage).forEach { Output.line($0) }
        }
    }
}

/// `sluice admin disable HANDLE`.
struct AdminDisableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "disable",
        abstract: "Refuse every call of a principal (PERMISSION_DENIED); nothing it stores is deleted.")

    @OptionGroup var connection: ClientOptions

    @Argument(help: "The principal's handle.")
    var handle: String

    func run() async throws {
        try await setDisabled(true, handle: handle, connection: connection)
    }
}

/// `sluice admin enable HANDLE`.
struct AdminEnableCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enable", abstract: "Let a disabled principal call again.")

    @OptionGroup var connection: ClientOptions

    @Argument(help: "The principal's handle.")
    var handle: String

    func run() async throws {
        try await setDisabled(false, handle: handle, connection: connection)
    }
}

/// `sluice admin abort-sessions HANDLE`.
struct AdminAbortSessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abort-sessions",
        abstract: "Abort every open upload session of a principal (and those opened into its folder).",
        discussion: "Their reserved bytes and session slots come back at once; committed objects are not touched.")

    @OptionGroup var connection: ClientOptions

    @Argument(help: "The principal's handle.")
    var handle: String

    func run() async throws {
        let settings = try connection.resolved()
        let handle = handle
        let aborted = try await settings.withClient { client in
            try await UsageCatalog(client: client).abortSessions(handle: handle)
        }
        Output.line("aborted \(aborted) upload session\(aborted == 1 ? "" : "s") of \(handle)")
    }
}

/// Disables or enables a principal and prints its record: what `disable` and `enable` share.
private func setDisabled(_ disabled: Bool, handle: String, connection: ClientOptions) async throws {
    let settings = try connection.resolved()
    let record = try await settings.withClient { client in
        try await UsageCatalog(client: client).setDisabled(handle: handle, disabled)
    }
    Output.line(UsageText.line(record))
}
