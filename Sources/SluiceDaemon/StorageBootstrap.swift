import Logging
import SluicePostgres
import SluiceRPC
import SluiceServer
import SluiceStore

/// Opens the store the options describe: connects to PostgreSQL, applies migrations,
/// opens the blob store, and starts the collector.
public struct StorageBootstrap {
    /// The storage services to serve, and the collector running beside them.
    public let services: [any RPCService]
    private let collectorTask: Task<Void, Never>
    private let database: PostgresPool
    private let probe: PostgresPool
    private let logger: Logger
    private var monitorTask: Task<Void, Never>?

    public init(options: StorageOptions, databaseURL: String, logger: Logger) async throws {
        database = try PostgresPool(url: databaseURL, size: options.databasePoolSize)
        probe = try PostgresPool(url: databaseURL, overrides: ["connect_timeout": "5"], size: 1)
        self.logger = logger
        try await Storage.migrate(database)
        let gate = StagingFileGate(limit: options.stagingFileLimit(openFileLimit: OpenFileLimit.current().soft))
        let blobs = GatedBlobStore(try await options.blobStore.open(), gate: gate)
        let storage = Storage(database: database, blobs: blobs, limits: options.limits)
        let identity = CallerIdentity(mapping: PrincipalMapping(rawValue: options.principalFrom) ?? .subjectAndSANs)
        services = [
            UploadSessionServiceHandler(storage: storage, identity: identity),
            ObjectServiceHandler(storage: storage, identity: identity),
            PartitionServiceHandler(storage: storage, identity: identity),
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
                    ])
                case .success:
                    break
                case .failure(let error):
                    logger.warning("collector pass failed", metadata: ["error": "\(error)"])
                }
            }
        }
        logger.notice("storage ready", metadata: [
            "blobs": "\(options.blobStore.blobs)", "max_open_staging_files": "\(gate.limit)",
            "principal_from": "\(identity.mapping.rawValue)",
        ])
    }

    /// Starts keeping `health` truthful about the database (see `DatabaseHealthMonitor`).
    public mutating func monitorDatabase(health: HealthStatusRegistry, interval: Duration = .seconds(1)) {
        let monitor = DatabaseHealthMonitor(
            probe: probe, registry: health, services: ServerRunner.serviceNames(of: services), interval: interval,
            timeout: .seconds(5), logger: logger)
        monitorTask = Task { await monitor.run() }
    }

    /// Stops the collector and the database monitor and closes the database connections.
    public func shutdown() {
        collectorTask.cancel()
        monitorTask?.cancel()
        database.close()
        probe.close()
    }
}
