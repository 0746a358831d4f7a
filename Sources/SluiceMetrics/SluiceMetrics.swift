import CoreMetrics
import SluiceDuration

/// Every metric Sluice exports, by name, in one place: the layers record through these
/// functions (on the swift-metrics API) and never name a metric themselves, so the list in
/// README's "Metrics and logs" is this file.
///
/// Until the daemon bootstraps a backend (`--metrics-listen`), swift-metrics hands out no-op
/// handles and recording costs next to nothing. Label values are always from a closed set
/// (status names, registered method names, fixed kinds): never an object name, a principal or
/// anything else a client can make up.
public enum SluiceMetrics {
    // MARK: Calls (CallDispatcher, once per call)

    private static let rpcCalls = LabeledMetric("service", "method", "code") {
        Counter(label: "sluice_rpc_calls_total", dimensions: $0)
    }
    /// The per-method series together, so a call looks them up once.
    private static let rpcMethods = LabeledMetric("service", "method") { MethodMetrics(dimensions: $0) }

    private final class MethodMetrics: Sendable {
        let duration: Timer
        let receivedBytes: Counter
        let sentBytes: Counter

        init(dimensions: [(String, String)]) {
            duration = Timer(label: "sluice_rpc_duration_seconds", dimensions: dimensions)
            receivedBytes = Counter(label: "sluice_rpc_received_bytes_total", dimensions: dimensions)
            sentBytes = Counter(label: "sluice_rpc_sent_bytes_total", dimensions: dimensions)
        }
    }

    /// The label value standing for every method the server does not serve (any path a client
    /// sends would otherwise become a label value).
    public static let unknownMethodLabel = "unknown"

    /// One ended call. `service` and `method` must be a registered method's names or
    /// ``unknownMethodLabel``; the bytes are request and response body bytes (gRPC frames).
    public static func callEnded(
        service: String, method: String, code: String, duration: Duration, receivedBytes: Int, sentBytes: Int
    ) {
        rpcCalls(service, method, code).increment()
        let series = rpcMethods(service, method)
        series.duration.recordNanoseconds(duration.inNanoseconds)
        series.receivedBytes.increment(by: receivedBytes)
        series.sentBytes.increment(by: sentBytes)
    }

    // MARK: Transport (HTTP/2 server)

    private static let connectionsOpen = Meter(label: "sluice_connections_open")
    private static let connectionsAccepted = Counter(label: "sluice_connections_accepted_total")
    private static let connectionsRefused = Counter(label: "sluice_connections_refused_total")
    private static let streamsOpen = Meter(label: "sluice_streams_open")
    private static let unreadRequestBytes = Meter(label: "sluice_unread_request_bytes")
    private static let streamWindowGrowths = Counter(label: "sluice_stream_window_growths_total")

    public static func connectionOpened() {
        connectionsAccepted.increment()
        connectionsOpen.increment()
    }

    public static func connectionClosed() { connectionsOpen.decrement() }

    /// A connection closed on accept because `--max-connections` were open.
    public static func connectionRefused() { connectionsRefused.increment() }

    /// A connection's stream window doubled (a long round trip held its client back).
    public static func streamWindowGrew() { streamWindowGrowths.increment() }

    public static func streamOpened() { streamsOpen.increment() }
    public static func streamClosed() { streamsOpen.decrement() }

    private static let requestsRefused = LabeledMetric("reason") {
        Counter(label: "sluice_requests_refused_total", dimensions: $0)
    }

    /// Why the transport answered a request itself instead of starting a call for it.
    public enum RequestRefusal: String, Sendable, CaseIterable {
        /// Not POST (HTTP 405).
        case method
        /// Not a gRPC content-type (HTTP 415).
        case contentType = "content_type"
        /// The header list passed its limit (RESOURCE_EXHAUSTED).
        case headerSize = "header_size"
    }

    /// A request the transport refused before it became a call (so it is in no `sluice_rpc_*` series).
    public static func requestRefused(_ reason: RequestRefusal) { requestsRefused(reason.rawValue).increment() }

    /// Request bytes received and not yet taken by handlers, across every connection.
    public static func unreadRequestBytesChanged(by delta: Int) {
        if delta > 0 { unreadRequestBytes.increment(by: Double(delta)) } else { unreadRequestBytes.decrement(by: Double(-delta)) }
    }

    // MARK: Upload sessions and partitions (store)

    private static let sessionsOpen = Meter(label: "sluice_upload_sessions_open")
    private static let sessionsCreated = Counter(label: "sluice_upload_sessions_created_total")
    private static let partitionsStored = Counter(label: "sluice_partitions_stored_total")
    private static let partitionsDeduplicated = Counter(label: "sluice_partitions_deduplicated_total")
    private static let partitionBytesStored = Counter(label: "sluice_partition_stored_bytes_total")

    /// An upload session created (in this process).
    public static func sessionCreated() { sessionsCreated.increment() }

    /// Open sessions as the database counts them (every instance's, expired ones excluded);
    /// the daemon refreshes it before each scrape.
    public static func openSessionsCounted(_ count: Int) { sessionsOpen.set(count) }

    /// A partition acknowledged. `deduplicated` when its bytes were already stored in its
    /// scope (a partition sent again, or content another upload stored first): stored once.
    /// Only new content counts towards the stored bytes.
    public static func partitionStored(bytes: Int64, deduplicated: Bool) {
        partitionsStored.increment()
        if deduplicated {
            partitionsDeduplicated.increment()
        } else {
            partitionBytesStored.increment(by: bytes)
        }
    }

    // MARK: Collector and scrubber (store)

    private static let collectorPasses = LabeledMetric("result") {
        Counter(label: "sluice_collector_passes_total", dimensions: $0)
    }
    private static let collectorReclaimed = LabeledMetric("kind") {
        Counter(label: "sluice_collector_reclaimed_total", dimensions: $0)
    }
    private static let scrubberPasses = LabeledMetric("result") {
        Counter(label: "sluice_scrubber_passes_total", dimensions: $0)
    }
    private static let scrubberCheckedBlobs = Counter(label: "sluice_scrubber_checked_blobs_total")
    private static let scrubberCheckedBytes = Counter(label: "sluice_scrubber_checked_bytes_total")
    private static let scrubberFindings = LabeledMetric("kind") {
        Counter(label: "sluice_scrubber_findings_total", dimensions: $0)
    }

    /// A collector pass that failed (it is retried at the next interval).
    public static func collectorPassFailed() { collectorPasses("failed").increment() }

    /// A collector pass that completed, with what it removed by kind (partitions, sessions,
    /// blobs, staging_files, ...; a fixed set the collector's report names).
    public static func collectorPassCompleted(reclaimed: KeyValuePairs<String, Int>) {
        collectorPasses("ok").increment()
        for (kind, count) in reclaimed where count > 0 { collectorReclaimed(kind).increment(by: count) }
    }

    public static func scrubberPassFailed() { scrubberPasses("failed").increment() }

    public static func scrubberPassCompleted(checkedBlobs: Int, checkedBytes: Int64, damaged: Int, missing: Int) {
        scrubberPasses("ok").increment()
        scrubberCheckedBlobs.increment(by: checkedBlobs)
        scrubberCheckedBytes.increment(by: checkedBytes)
        if damaged > 0 { scrubberFindings("damaged").increment(by: damaged) }
        if missing > 0 { scrubberFindings("missing").increment(by: missing) }
    }

    // MARK: PostgreSQL pool

    private static let poolInUse = Meter(label: "sluice_db_pool_connections_in_use")
    private static let poolWait = Timer(label: "sluice_db_pool_wait_seconds")

    /// A pool worker took a job that waited `waited` in the queue.
    public static func databaseConnectionTaken(waited: Duration) {
        poolWait.recordNanoseconds(waited.inNanoseconds)
        poolInUse.increment()
    }

    public static func databaseConnectionReturned() { poolInUse.decrement() }

    // MARK: S3

    private static let s3Requests = LabeledMetric("operation", "outcome") {
        Counter(label: "sluice_s3_requests_total", dimensions: $0)
    }
    private static let s3Retries = LabeledMetric("operation") {
        Counter(label: "sluice_s3_retries_total", dimensions: $0)
    }
    private static let s3Duration = LabeledMetric("operation") {
        Timer(label: "sluice_s3_request_duration_seconds", dimensions: $0)
    }

    /// One attempt of an S3 request. `operation` is a fixed name (put_object, get_object, ...);
    /// `status` the HTTP status, nil when no answer came (connection failure).
    public static func s3Attempt(operation: String, status: Int?, duration: Duration) {
        let outcome = status.map { "\($0 / 100)xx" } ?? "error"
        s3Requests(operation, outcome).increment()
        s3Duration(operation).recordNanoseconds(duration.inNanoseconds)
    }

    /// An S3 attempt failed transiently and is about to be retried.
    public static func s3Retry(operation: String) { s3Retries(operation).increment() }

    // MARK: Quotas and rate limits

    private static let quotaRefusals = LabeledMetric("reason") {
        Counter(label: "sluice_quota_refusals_total", dimensions: $0)
    }
    private static let rateLimitRefusals = LabeledMetric("kind") {
        Counter(label: "sluice_rate_limit_refusals_total", dimensions: $0)
    }

    /// Which quota refused a call.
    public enum QuotaReason: String, Sendable, CaseIterable {
        case bytes, objects, sessions
    }

    /// Which rate limit refused a call.
    public enum RateLimitKind: String, Sendable, CaseIterable {
        case requests
        case bytesIn = "bytes_in"
        case bytesOut = "bytes_out"
    }

    /// A call answered RESOURCE_EXHAUSTED because a quota would be exceeded.
    public static func quotaRefused(_ reason: QuotaReason) { quotaRefusals(reason.rawValue).increment() }

    /// A call answered RESOURCE_EXHAUSTED (with pushback) because a rate limit was reached.
    public static func rateLimited(_ kind: RateLimitKind) { rateLimitRefusals(kind.rawValue).increment() }

    // MARK: Start-up

    /// Makes the metrics without labels, and the labeled ones whose label values are a closed
    /// set known at start, so that a scrape lists them (at zero) before anything happened: a
    /// rate or ratio over a series that does not exist yet shows "no data" rather than 0. The
    /// per-method and S3 series appear with their first call or request. Call once, after
    /// bootstrapping the metrics system.
    public static func registerKnownSeries() {
        _ = (connectionsOpen, connectionsAccepted, connectionsRefused, streamsOpen, streamWindowGrowths)
        _ = (unreadRequestBytes, sessionsOpen, sessionsCreated, partitionsStored, partitionsDeduplicated)
        _ = (partitionBytesStored, scrubberCheckedBlobs, scrubberCheckedBytes, poolInUse, poolWait)
        for reason in RequestRefusal.allCases { _ = requestsRefused(reason.rawValue) }
        for reason in QuotaReason.allCases { _ = quotaRefusals(reason.rawValue) }
        for kind in RateLimitKind.allCases { _ = rateLimitRefusals(kind.rawValue) }
        for result in ["ok", "failed"] {
            _ = collectorPasses(result)
            _ = scrubberPasses(result)
        }
        for kind in ["damaged", "missing"] { _ = scrubberFindings(kind) }
    }
}
