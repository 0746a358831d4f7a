import Foundation
import Logging
import SluiceMetrics
import SluicePostgres
import SluiceRPC
import SluiceServer
import SluiceStore

/// Opens the store the options describe: connects to PostgreSQL, applies migrations,
/// opens the blob store, and starts the collector and (when asked) the scrubber.
public struct StorageBootstrap {
    /// The storage services to serve, and the collector running beside them.
    public let services: [any RPCService]
    /// Wraps every call: resolves its caller once, applies the limits, maps storage failures
    /// to statuses (see `StorageCallInterceptor`).
    public let interceptor: any CallInterceptor
    /// Writes the traffic counted in memory to the database every second.
    private let trafficTask: Task<Void, Never>
    private let collectorTask: Task<Void, Never>
    /// The one LISTEN connection that wakes this instance's watchers.
    private let changeListener: ChangeListener
    private let scrubberTask: Task<Void, Never>?
    /// Settles pending whole-object hashes left by any instance (a commit wakes it at once).
    private let wholeHashTask: Task<Void, Never>
    private let database: PostgresPool
    private let probe: PostgresPool
    private let logger: Logger
    private var monitorTask: Task<Void, Never>?
    /// How client certificates name principals (`--principal-from`), for the access log too.
    public let principalMapping: PrincipalMapping
    private let collector: Collector
    /// The longest a call's statement waits for a row or table lock before its call fails with
    /// UNAVAILABLE: a lock held elsewhere (a stuck session, a long maintenance command) must not
    /// hold the pool's connections, and every call behind them, for as long as it lasts. The
    /// store's own transactions hold locks for milliseconds.
    static let databaseLockTimeout = Duration.seconds(10)

    /// What to do about a database that refused the connection: waiting helps only when
    /// PostgreSQL is not up yet; a name or a login it does not know has to be fixed.
    static func advice(for error: PostgresError) -> String {
        if error.message.contains("does not exist") {
            return "the database or user named in --database does not exist: create it, or fix --database"
        }
        if error.message.contains("authentication failed") {
            return "PostgreSQL refused the user or password in --database: fix them"
        }
        return "start it again once PostgreSQL accepts connections"
    }

    public init(options: StorageOptions, databaseURL: String, logger: Logger) async throws {
        // Ten attempts (backoff capped at 200 ms): under many racing writers of one object a
        // deadlock can repeat; the lock order that removes it is still to be made uniform.
        database = try PostgresPool(
            url: databaseURL, size: options.databasePoolSize, maxTransactionAttempts: 10,
            lockTimeout: Self.databaseLockTimeout)
        probe = try PostgresPool(url: databaseURL, overrides: ["connect_timeout": "5"], size: 1)
        self.logger = logger
        do {
            try await Storage.migrate(database)
        } catch let error as PostgresError where error.isConnectionFailure {
            // The pool would try again in the background, but sluiced does not start without its
            // database: say so, rather than the pool's words.
            throw StorageBootstrapError(
                "cannot connect to the metadata database, so sluiced does not start (\(Self.advice(for: error))): "
                    + error.message)
        }
        let stagingFiles = options.stagingFileLimit(openFileLimit: OpenFileLimit.current().soft)
        // Principals sharing one blob scope cannot be told apart at the gate: no share then.
        let gate = FairShareGate(
            limit: stagingFiles,
            perHolderLimit: options.limits.deduplicateAcrossPrincipals ? nil : FairShareGate.share(of: stagingFiles))
        let store = try await options.blobStore.open()
        try await BlobStoreOwnership.check(database: database, blobs: store, describedAs: options.blobStore.blobs)
        let blobs = GatedBlobStore(store, gate: gate)
        let pageTokens = try await Self.pageTokens(options, database: database)
        let storage = Storage(database: database, blobs: blobs, limits: options.limits, pageTokens: pageTokens)
        principalMapping = PrincipalMapping(rawValue: options.principalFrom) ?? .subjectAndSANs
        collector = storage.collector
        if principalMapping == .sanDNS {
            try await Self.adoptLowercaseDNSNames(storage.principals, logger: logger)
        }
        for registration in options.principalRegistrations {
            do {
                _ = try await storage.principals.register(
                    handle: registration.handle, identity: principalMapping.canonical(registration.identity))
            } catch let error as StorageError {
                throw StorageBootstrapError("--register-principal \(registration.handle)=\(registration.identity): \(error)")
            }
        }
        changeListener = ChangeListener(url: databaseURL) { error in
            logger.warning("change listener lost its database connection; reconnecting", metadata: ["error": "\(error)"])
        }
        changeListener.start()
        let admins = AdminRoster(options.admin.map(principalMapping.canonical))
        let policies = PrincipalPolicies(storage: storage, administration: storage.administration)
        let traffic = TrafficRecorder(ledger: storage.usage)
        interceptor = StorageCallInterceptor(
            mapping: principalMapping, callers: policies,
            limits: LimitAdmission(
                limiters: PrincipalLimiters(), traffic: traffic, defaults: options.limits.defaultRateLimits,
                admins: admins, maxCallsPerPrincipal: options.maxCallsPerPrincipal))
        trafficTask = Task { await traffic.run(every: .seconds(1)) }
        let readBuffers = ReadBufferBudget()
        services = [
            UsageServiceHandler(storage: storage, traffic: traffic),
            AdminServiceHandler(
                storage: storage, admins: admins, mapping: principalMapping, policies: policies, traffic: traffic,
                logger: logger),
            UploadSessionServiceHandler(storage: storage),
            ObjectServiceHandler(storage: storage, readBuffers: readBuffers),
            PartitionServiceHandler(storage: storage, readBuffers: readBuffers),
            SharingServiceHandler(storage: storage),
            ChangeServiceHandler(storage: storage, signal: changeListener.signal, limits: options.watchLimits),
        ]
        let interval = Duration.seconds(options.collectorInterval)
        collectorTask = Task {
            await storage.collector.run(every: interval) { result in
                switch result {
                case .success(let report) where report != Collector.Report():
                    logger.info("collector pass", metadata: [
                        "released_partitions": "\(report.releasedPartitions)",
                        "deleted_sessions": "\(report.deletedSessions)", "deleted_blobs": "\(report.deletedBlobs)",
                        "removed_staging_files": "\(report.removedStagingFiles)",
                        "removed_unknown_files": "\(report.removedUnknownFiles)",
                        "expired_empty_sessions": "\(report.expiredEmptySessions)",
                        "forgotten_damage_findings": "\(report.forgottenDamageFindings)",
                        "pruned_changes": "\(report.prunedChanges)",
                    ])
                case .success:
                    break
                case .failure(let error):
                    logger.warning("collector pass failed", metadata: ["error": "\(error)"])
                }
            }
        }
        wholeHashTask = Task { await storage.sessions.wholeHashes.run(every: interval) }
        scrubberTask = Self.startScrubber(options, database: database, blobs: blobs, logger: logger)
        logger.notice("storage ready", metadata: [
            "blobs": "\(options.blobStore.blobs)", "max_open_staging_files": "\(gate.limit)",
            "principal_from": "\(principalMapping.rawValue)", "admins": "\(options.admin.count)",
            "quota_bytes": "\(options.limits.maxStoredBytesPerPrincipal)",
            "quota_objects": "\(options.limits.maxObjectsPerPrincipal)",
            "quota_sessions": "\(options.limits.maxOpenSessionsPerPrincipal)",
            "rate_requests": "\(options.limits.defaultRateLimits.requestsPerSecond)",
            "rate_bytes_in": "\(options.limits.defaultRateLimits.bytesInPerSecond)",
            "rate_bytes_out": "\(options.limits.defaultRateLimits.bytesOutPerSecond)",
        ])
    }

    /// Lowercases principal names an older sluiced recorded with capitals under `san-dns`
    /// (``PrincipalDirectory/adoptLowercaseDNSNames()``) and says what it did, and what it
    /// could not: a stranded principal's certificates now reach the other one.
    private static func adoptLowercaseDNSNames(_ principals: PrincipalDirectory, logger: Logger) async throws {
        let report = try await principals.adoptLowercaseDNSNames()
        for adopted in report.adopted {
            logger.notice("principal name lowercased: DNS names are case-insensitive (--principal-from san-dns)",
                metadata: ["handle": "\(adopted.handle)", "identity": "\(adopted.name)"])
        }
        for stranded in report.stranded {
            logger.warning(
                """
                principal unreachable: its certificates now reach the principal holding its DNS name in \
                lowercase (--principal-from san-dns); move its objects or delete it
                """,
                metadata: ["handle": "\(stranded.handle)", "identity": "\(stranded.name)", "reached_instead": "\(stranded.holder)"])
        }
    }

    /// Ends every change watcher (with UNAVAILABLE naming its cursor): call when the drain
    /// begins, since a watcher never finishes on its own.
    public func endWatchers() {
        changeListener.signal.close()
    }

    /// Starts keeping `health` truthful about the database (see `DatabaseHealthMonitor`).
    public mutating func monitorDatabase(health: HealthStatusRegistry, interval: Duration = .seconds(1)) {
        let monitor = DatabaseHealthMonitor(
            probe: probe, registry: health, services: ServerRunner.serviceNames(of: services), interval: interval,
            timeout: .seconds(5), logger: logger)
        monitorTask = Task { await monitor.run() }
    }

    /// The page token key: from --page-token-key-file, else the one kept in the database.
    private static func pageTokens(_ options: StorageOptions, database: PostgresPool) async throws -> PageTokens {
        guard let path = options.pageTokenKeyFile else { return try await PageTokens.shared(in: database) }
        guard let key = FileManager.default.contents(atPath: path) else {
            throw StorageBootstrapError("--page-token-key-file \(path) cannot be read")
        }
        guard key.count >= PageTokens.minimumKeyBytes else {
            throw StorageBootstrapError(
                "--page-token-key-file \(path) holds \(key.count) bytes; the key must be at least "
                    + "\(PageTokens.minimumKeyBytes) (head -c 32 /dev/urandom > FILE makes one)")
        }
        return PageTokens(key: [UInt8](key))
    }

    /// Every --scrub-interval seconds, re-hashes the stored blobs at --scrub-bytes-per-second;
    /// logs each damaged or missing blob (also recorded in the damaged_blobs table) and each pass.
    private static func startScrubber(
        _ options: StorageOptions, database: PostgresPool, blobs: any BlobStore, logger: Logger
    ) -> Task<Void, Never>? {
        guard options.scrubInterval > 0 else { return nil }
        let scrubber = Scrubber(database: database, blobs: blobs, bytesPerSecond: Int64(options.scrubBytesPerSecond))
        let interval = Duration.seconds(options.scrubInterval)
        return Task {
            await scrubber.run(every: interval) { finding in
                logger.error("scrub found a damaged blob", metadata: ["blob": "\(finding.key)", "detail": "\(finding.detail)"])
            } onPass: { result in
                switch result {
                case .success(let report):
                    logger.info("scrub pass", metadata: [
                        "checked_blobs": "\(report.checkedBlobs)", "checked_bytes": "\(report.checkedBytes)",
                        "damaged_blobs": "\(report.damagedBlobs)", "missing_blobs": "\(report.missingBlobs)",
                    ])
                case .failure(let error):
                    logger.warning("scrub pass failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }

    /// Refreshes the gauges the database holds the truth of (open upload sessions); for
    /// `ServerRunner`'s `beforeScrape`. A failed count leaves the last value.
    public var metricsRefresher: @Sendable () async -> Void {
        let collector = self.collector
        return {
            if let open = try? await collector.openSessionCount() { SluiceMetrics.openSessionsCounted(open) }
        }
    }

    /// Stops the collector, the scrubber and the database monitor, and closes the database
    /// connections.
    public func shutdown() {
        collectorTask.cancel()
        trafficTask.cancel()
        changeListener.stop()
        scrubberTask?.cancel()
        wholeHashTask.cancel()
        monitorTask?.cancel()
        database.close()
        probe.close()
    }
}
