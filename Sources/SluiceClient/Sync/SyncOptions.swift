import Foundation

/// How a sync runs.
public struct SyncOptions: Sendable {
    /// The local directory, absolute and standardized.
    public var localRoot: String
    /// The remote prefix: "" (the owner's whole namespace) or ending with "/".
    public var remotePrefix: String
    /// The handle of the principal whose folder is synced (one that shares it with the
    /// caller for writing); empty for the caller's own.
    public var owner: String
    /// The name conflict copies carry, by default the host name.
    public var device: String
    /// Files moved at once.
    public var parallelism: Int
    /// Small files (at most 4 MiB: one call each) moved at once, beside the others: four
    /// times `parallelism` (16 by default), so that their round trips overlap.
    public var smallParallelism: Int { 4 * parallelism }
    public var retry: RetryPolicy
    /// Report what would be done, change nothing.
    public var dryRun: Bool
    /// Let a full pass delete every synced file on one side because the other is empty (see
    /// `EmptiedSideGuard`); without it such a pass is refused.
    public var allowDeleteAll: Bool
    public var stateFile: SyncStateFile
    /// Where interrupted uploads are remembered, so a killed sync resumes them.
    public var journal: UploadJournal?

    public init(
        localRoot: String, remotePrefix: String, owner: String = "", device: String = SyncOptions.hostName(),
        parallelism: Int = 4, retry: RetryPolicy = RetryPolicy(), dryRun: Bool = false, stateFile: SyncStateFile,
        journal: UploadJournal? = nil, allowDeleteAll: Bool = false
    ) {
        self.localRoot = URL(fileURLWithPath: localRoot).standardizedFileURL.path
        self.remotePrefix = Self.normalizedPrefix(remotePrefix)
        self.owner = owner
        self.device = device
        self.parallelism = max(1, parallelism)
        self.retry = retry
        self.dryRun = dryRun
        self.stateFile = stateFile
        self.journal = journal
        self.allowDeleteAll = allowDeleteAll
    }

    /// "" stays ""; anything else ends with exactly one "/".
    public static func normalizedPrefix(_ prefix: String) -> String {
        guard !prefix.isEmpty else { return "" }
        return prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    /// This machine's host name, for conflict names.
    public static func hostName() -> String {
        ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "device"
    }
}
