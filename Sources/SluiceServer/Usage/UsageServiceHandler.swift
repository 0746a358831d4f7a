import SluiceProto
import SluiceRPC
import SluiceStore

/// sluice.v1.UsageService: the caller's usage, limits and traffic.
public struct UsageServiceHandler: Sluice_V1_UsageServiceService {
    let storage: Storage
    let traffic: TrafficRecorder?

    public init(storage: Storage, traffic: TrafficRecorder? = nil) {
        self.storage = storage
        self.traffic = traffic
    }

    public func getUsage(request: Sluice_V1_GetUsageRequest, context: ServerContext) async throws -> Sluice_V1_Usage {
        try await UsageMapping.usage(of: try context.caller.principal, days: Int(request.days), storage: storage, traffic: traffic)
    }
}

/// Usage between the store and the API's messages.
enum UsageMapping {
    /// The usage report of `principal`, after writing the traffic counted so far.
    static func usage(of principal: Principal, days: Int, storage: Storage, traffic: TrafficRecorder?) async throws
        -> Sluice_V1_Usage
    {
        try? await traffic?.flush()
        let report = try await storage.usage.report(for: principal, days: days)
        var usage = Sluice_V1_Usage()
        usage.handle = principal.handle
        usage.logicalBytes = report.logicalBytes
        usage.physicalBytes = report.physicalBytes
        usage.objects = report.objects
        usage.versions = report.versions
        usage.openSessions = report.openSessions
        usage.granteeOpenSessions = report.granteeOpenSessions
        usage.reservedBytes = report.reservedBytes
        usage.traffic = report.traffic.map { day in
            var entry = Sluice_V1_DailyTraffic()
            entry.day = day.day
            entry.uploadedBytes = day.uploadedBytes
            entry.downloadedBytes = day.downloadedBytes
            return entry
        }
        usage.prefixes = report.prefixes.map(prefixUsage)
        usage.omittedPrefixCount = report.omittedPrefixCount
        usage.omittedPrefixes = prefixUsage(report.omittedPrefixes)
        usage.quotas = quotas(report.settings.quotas(defaults: storage.limits.defaultQuotas))
        usage.rateLimits = rates(report.settings.rates(defaults: storage.limits.defaultRateLimits))
        return usage
    }

    static func prefixUsage(_ prefix: UsageReport.Prefix) -> Sluice_V1_PrefixUsage {
        var entry = Sluice_V1_PrefixUsage()
        entry.prefix = prefix.prefix
        entry.logicalBytes = prefix.logicalBytes
        entry.objects = prefix.objects
        entry.versions = prefix.versions
        return entry
    }

    static func quotas(_ limits: QuotaLimits) -> Sluice_V1_Quotas {
        var quotas = Sluice_V1_Quotas()
        quotas.bytes = limits.bytes
        quotas.objects = limits.objects
        quotas.sessions = limits.sessions
        return quotas
    }

    static func rates(_ limits: RateLimits) -> Sluice_V1_RateLimits {
        var rates = Sluice_V1_RateLimits()
        rates.requestsPerSecond = limits.requestsPerSecond
        rates.bytesInPerSecond = limits.bytesInPerSecond
        rates.bytesOutPerSecond = limits.bytesOutPerSecond
        return rates
    }
}
