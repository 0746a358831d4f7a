import ArgumentParser
import Foundation
import SluiceRPC
import SluiceServer
import SluiceStore

/// Where sluiced keeps metadata and bytes, and the storage limits. Each flag has an
/// environment variable `SLUICED_<NAME>` as its default.
public struct StorageOptions: ParsableArguments {
    @Option(help: "PostgreSQL connection string or URI for metadata. (env: SLUICED_DATABASE)")
    public var database = EnvironmentDefaults.string("SLUICED_DATABASE")

    @OptionGroup public var blobStore: BlobStoreOptions

    @Option(parsing: .unconditional, help: "Database connections in the pool. (env: SLUICED_DATABASE_POOL_SIZE)")
    public var databasePoolSize = EnvironmentDefaults.int("SLUICED_DATABASE_POOL_SIZE", default: 8)

    @Option(parsing: .unconditional, help: "Largest partition, bytes. (env: SLUICED_MAX_PARTITION_SIZE)")
    public var maxPartitionSize = EnvironmentDefaults.int("SLUICED_MAX_PARTITION_SIZE", default: 64 * 1024 * 1024)

    @Option(parsing: .unconditional, help: "Most partitions per session. (env: SLUICED_MAX_PARTITIONS)")
    public var maxPartitions = EnvironmentDefaults.int("SLUICED_MAX_PARTITIONS", default: 10_000)

    @Option(parsing: .unconditional, help: "Most open upload sessions per principal. (env: SLUICED_MAX_OPEN_SESSIONS)")
    public var maxOpenSessions = EnvironmentDefaults.int("SLUICED_MAX_OPEN_SESSIONS", default: 100)

    @Option(parsing: .unconditional, help: "Seconds an uncommitted session lives. (env: SLUICED_SESSION_LIFETIME)")
    public var sessionLifetime = EnvironmentDefaults.int("SLUICED_SESSION_LIFETIME", default: 24 * 3600)

    /// Optional so that only a value someone gave is refused above `--session-lifetime`: the
    /// default (``defaultEmptySessionLifetime``) yields to a shorter session lifetime instead.
    @Option(parsing: .unconditional, help: "Seconds an open session that has stored no partition lives: 1 to --session-lifetime; default 3600, or --session-lifetime when shorter. (env: SLUICED_EMPTY_SESSION_LIFETIME)")
    public var emptySessionLifetime: Int? = EnvironmentDefaults.optionalInt("SLUICED_EMPTY_SESSION_LIFETIME")

    @Option(parsing: .unconditional, help: "Seconds closed sessions stay visible. (env: SLUICED_SESSION_RETENTION)")
    public var sessionRetention = EnvironmentDefaults.int("SLUICED_SESSION_RETENTION", default: 24 * 3600)

    @Option(parsing: .unconditional, help: "Seconds the change feed keeps a change; an older cursor answers OUT_OF_RANGE. (env: SLUICED_CHANGE_RETENTION)")
    public var changeRetention = EnvironmentDefaults.int("SLUICED_CHANGE_RETENTION", default: 7 * 24 * 3600)

    @Option(parsing: .unconditional, help: "Seconds a change watcher's client may take nothing before the watch is ended with ABORTED naming its cursor. (env: SLUICED_CHANGE_WATCH_STALL_TIMEOUT)")
    public var changeWatchStallTimeout = EnvironmentDefaults.int("SLUICED_CHANGE_WATCH_STALL_TIMEOUT", default: 30)

    @Option(parsing: .unconditional, help: "Seconds an upload's hold on the bytes it is storing lasts unless renewed (every quarter of it), so the hold of an upload whose server died lapses; also the age past which blob and staging files the database does not know are removed. (env: SLUICED_BLOB_GRACE_PERIOD)")
    public var blobGracePeriod = EnvironmentDefaults.int("SLUICED_BLOB_GRACE_PERIOD", default: 3600)

    @Option(parsing: .unconditional, help: "Seconds between collector passes. (env: SLUICED_COLLECTOR_INTERVAL)")
    public var collectorInterval = EnvironmentDefaults.int("SLUICED_COLLECTOR_INTERVAL", default: 300)

    @Option(parsing: .unconditional, help: "Seconds between scrubber passes, which re-hash every stored blob; 0 turns the scrubber off. (env: SLUICED_SCRUB_INTERVAL)")
    public var scrubInterval = EnvironmentDefaults.int("SLUICED_SCRUB_INTERVAL", default: 0)

    @Option(parsing: .unconditional, help: "Bytes per second the scrubber reads at most; 0 for no limit. (env: SLUICED_SCRUB_BYTES_PER_SECOND)")
    public var scrubBytesPerSecond = EnvironmentDefaults.int("SLUICED_SCRUB_BYTES_PER_SECOND", default: 32 * 1024 * 1024)

    @Option(help: "File holding the secret (at least 32 bytes) that authenticates page tokens; by default a key kept in the database, shared by every instance on it. (env: SLUICED_PAGE_TOKEN_KEY_FILE)")
    public var pageTokenKeyFile = EnvironmentDefaults.string("SLUICED_PAGE_TOKEN_KEY_FILE")

    @Option(help: ArgumentHelp(
        "Which names of a client certificate make its principal: subject+sans, subject, san-uri or san-dns. (env: SLUICED_PRINCIPAL_FROM)",
        discussion: "subject+sans (default) never merges certificates with different names; subject merges certificates that share a subject; san-uri and san-dns take the one URI (e.g. SPIFFE ID) or DNS SAN and refuse certificates with none or several."))
    public var principalFrom = EnvironmentDefaults.string("SLUICED_PRINCIPAL_FROM", default: PrincipalMapping.subjectAndSANs.rawValue)

    @Option(parsing: .unconditional, help: "Most staging files (partitions being received) open at once; more uploads wait. 0: a quarter of the open-file limit, at least 8; never more than a third of it. (env: SLUICED_MAX_OPEN_STAGING_FILES)")
    public var maxOpenStagingFiles = EnvironmentDefaults.int("SLUICED_MAX_OPEN_STAGING_FILES", default: 0)

    @Option(parsing: .unconditional, help: "Most calls one principal may have in progress at once (watchers and transfers count); past it a call is refused with RESOURCE_EXHAUSTED, so that one principal cannot take every call handler or staging file. 0: no limit. (env: SLUICED_MAX_CALLS_PER_PRINCIPAL)")
    public var maxCallsPerPrincipal = EnvironmentDefaults.int("SLUICED_MAX_CALLS_PER_PRINCIPAL", default: 1024)

    @Flag(help: "Store identical bytes of different principals once (leaks whether another principal holds a file). (env: SLUICED_DEDUPLICATE_ACROSS_PRINCIPALS)")
    public var deduplicateAcrossPrincipals = EnvironmentDefaults.bool("SLUICED_DEDUPLICATE_ACROSS_PRINCIPALS")

    @Option(name: .customLong("register-principal"), help: ArgumentHelp(
        "Registers a principal ahead of its first call, as HANDLE=IDENTITY (repeatable), so that others can share with it. (env: SLUICED_REGISTER_PRINCIPAL, one pair per line)",
        discussion: "IDENTITY is the principal as --principal-from names it (sluice whoami prints it). Applied at start-up; registering the same pair again changes nothing; a handle held by another identity, or an identity with another handle, stops sluiced with a message."))
    public var registerPrincipal: [String] = EnvironmentDefaults.lines("SLUICED_REGISTER_PRINCIPAL")

    @Option(parsing: .unconditional, help: "Default byte quota per principal: logical bytes stored (every version) plus bytes reserved by open sessions; 0 for none. Overridden per principal with sluice admin limits. (env: SLUICED_QUOTA_BYTES)")
    public var quotaBytes = EnvironmentDefaults.int("SLUICED_QUOTA_BYTES", default: 0)

    @Option(parsing: .unconditional, help: "Default object quota per principal; 0 for none. (env: SLUICED_QUOTA_OBJECTS)")
    public var quotaObjects = EnvironmentDefaults.int("SLUICED_QUOTA_OBJECTS", default: 0)

    @Option(parsing: .unconditional, help: "Default open-session quota per principal; 0 for none. Defaults to --max-open-sessions. (env: SLUICED_QUOTA_SESSIONS)")
    public var quotaSessions: Int? = EnvironmentDefaults.optionalInt("SLUICED_QUOTA_SESSIONS")

    @Option(parsing: .unconditional, help: "Default calls per second per principal (token bucket, one second of burst); 0 for none. Over it: RESOURCE_EXHAUSTED with grpc-retry-pushback-ms. (env: SLUICED_RATE_REQUESTS)")
    public var rateRequests = EnvironmentDefaults.int("SLUICED_RATE_REQUESTS", default: 0)

    @Option(parsing: .unconditional, help: "Default request message bytes per second per principal; uploads are paced to it, never refused; 0 for none. (env: SLUICED_RATE_BYTES_IN)")
    public var rateBytesIn = EnvironmentDefaults.int("SLUICED_RATE_BYTES_IN", default: 0)

    @Option(parsing: .unconditional, help: "Default response message bytes per second per principal; downloads are paced to it, never refused; 0 for none. (env: SLUICED_RATE_BYTES_OUT)")
    public var rateBytesOut = EnvironmentDefaults.int("SLUICED_RATE_BYTES_OUT", default: 0)

    @Option(name: .customLong("admin"), help: ArgumentHelp(
        "A principal that may call AdminService (repeatable), as --principal-from names it (sluice whoami prints it). (env: SLUICED_ADMIN, one identity per line)",
        discussion: "Administrators list principals, set quotas and rate limits, read anyone's usage, register principals and disable or enable them; each action is logged with who did it. An administrator is never refused as disabled."))
    public var admin: [String] = EnvironmentDefaults.lines("SLUICED_ADMIN")

    public init() {}

    /// The --register-principal pairs, split at the first "=".
    public var principalRegistrations: [(handle: String, identity: String)] {
        registerPrincipal.compactMap { pair in
            guard let equals = pair.firstIndex(of: "=") else { return nil }
            return (String(pair[..<equals]), String(pair[pair.index(after: equals)...]))
        }
    }

    /// The request message limit of a storage server: 4 MiB of data in one UploadPartition or
    /// PutObject message, plus 128 KiB for the message's own fields — the largest a PutObject
    /// may carry beside its data (64 metadata entries of 128 + 1,024 bytes, a 1 KiB name, the
    /// hash, content type and request id) is about 77 KB.
    public static let receiveLimit = 4 * 1024 * 1024 + 128 * 1024

    /// `--empty-session-lifetime` when none is given (and `--session-lifetime` is longer): an hour.
    public static let defaultEmptySessionLifetime = 3600

    public func validate() throws {
        try FlagRange.check([
            FlagRange("--database-pool-size", databasePoolSize, 1...1_000),
            FlagRange("--max-partition-size", maxPartitionSize, 1...(1 << 36), unit: "bytes"),
            FlagRange("--max-partitions", maxPartitions, 1...1_000_000),
            FlagRange("--max-open-sessions", maxOpenSessions, 1...1_000_000),
            FlagRange("--max-open-staging-files", maxOpenStagingFiles, 0...1_000_000,
                      note: "0 derives it from the open-file limit"),
            FlagRange("--max-calls-per-principal", maxCallsPerPrincipal, 0...1_000_000, note: "0: no limit"),
            .seconds("--session-lifetime", sessionLifetime),
            .seconds("--session-retention", sessionRetention, from: 0),
            .seconds("--change-retention", changeRetention),
            .seconds("--change-watch-stall-timeout", changeWatchStallTimeout),
            // With no grace at all every upload's hold would have lapsed before it was renewed.
            .seconds("--blob-grace-period", blobGracePeriod,
                     note: "an upload's hold on its bytes lasts this long unless renewed"),
            .seconds("--collector-interval", collectorInterval),
            .seconds("--scrub-interval", scrubInterval, from: 0, note: "0: no scrubbing"),
            FlagRange("--scrub-bytes-per-second", scrubBytesPerSecond, 0...FlagRange.maxAmount, unit: "bytes",
                      note: "0: no limit"),
            .limit("--quota-bytes", quotaBytes, .quotaBytes, unit: "bytes"),
            .limit("--quota-objects", quotaObjects, .quotaObjects),
            .limit("--quota-sessions", quotaSessions ?? 0, .quotaSessions),
            .limit("--rate-requests", rateRequests, .requestsPerSecond),
            .limit("--rate-bytes-in", rateBytesIn, .bytesInPerSecond, unit: "bytes"),
            .limit("--rate-bytes-out", rateBytesOut, .bytesOutPerSecond, unit: "bytes"),
        ])
        guard PrincipalMapping(rawValue: principalFrom) != nil else {
            throw ValidationError(
                "--principal-from must be one of \(PrincipalMapping.allCases.map(\.rawValue).joined(separator: ", ")), got '\(principalFrom)'")
        }
        for pair in registerPrincipal {
            guard let equals = pair.firstIndex(of: "="), PrincipalHandle.isValid(String(pair[..<equals])),
                  pair.index(after: equals) < pair.endIndex
            else {
                throw ValidationError(
                    "--register-principal '\(pair)' must be HANDLE=IDENTITY, the handle 1 to 64 of a-z, 0-9, '.', '_' "
                        + "and '-', the identity as --principal-from names it (e.g. alice=CN=alice)")
            }
        }
        if let emptySessionLifetime, !(1...sessionLifetime).contains(emptySessionLifetime) {
            throw ValidationError(
                "--empty-session-lifetime must be 1 to \(sessionLifetime) seconds (at most --session-lifetime), "
                    + "got \(emptySessionLifetime)")
        }
        if let empty = admin.first(where: \.isEmpty) {
            throw ValidationError("--admin '\(empty)' is empty; give the identity as --principal-from names it")
        }
    }

    /// The limits of change watchers these options set.
    public var watchLimits: WatchLimits {
        var limits = WatchLimits()
        limits.stallLimit = .seconds(changeWatchStallTimeout)
        return limits
    }

    /// `--max-open-staging-files`, or when 0 a quarter of the open-file limit (at least 8, at
    /// most 65,536): the rest stays for connections, blob reads and the database. Never more
    /// than a third of the open-file limit, whatever the flag says: a staging file can need a
    /// second descriptor (its directory, when published), and the process must never run out —
    /// on Linux, libdispatch aborts the whole process when its worker-pool monitor cannot open
    /// its /proc files, so a shortage is not an error a call can answer but a crash.
    public func stagingFileLimit(openFileLimit: Int) -> Int {
        let requested = maxOpenStagingFiles > 0 ? maxOpenStagingFiles : min(max(openFileLimit / 4, 8), 65_536)
        return min(requested, max(openFileLimit / 3, 1))
    }

    public var limits: StorageLimits {
        var limits = StorageLimits()
        limits.maxPartitionSize = Int64(maxPartitionSize)
        limits.maxPartitionsPerSession = maxPartitions
        limits.maxOpenSessionsPerPrincipal = quotaSessions ?? maxOpenSessions
        limits.maxStoredBytesPerPrincipal = Int64(quotaBytes)
        limits.maxObjectsPerPrincipal = Int64(quotaObjects)
        limits.defaultRateLimits = RateLimits(
            requestsPerSecond: Int64(rateRequests), bytesInPerSecond: Int64(rateBytesIn),
            bytesOutPerSecond: Int64(rateBytesOut))
        limits.sessionLifetime = .seconds(sessionLifetime)
        limits.emptySessionLifetime = .seconds(emptySessionLifetime ?? min(Self.defaultEmptySessionLifetime, sessionLifetime))
        limits.closedSessionRetention = .seconds(sessionRetention)
        limits.changeRetention = .seconds(changeRetention)
        limits.blobGracePeriod = .seconds(blobGracePeriod)
        limits.lingeringDeleteFence = blobStore.lingeringDeleteFence
        limits.deduplicateAcrossPrincipals = deduplicateAcrossPrincipals
        return limits
    }
}
