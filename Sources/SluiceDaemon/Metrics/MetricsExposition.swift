import CoreMetrics
import Prometheus
import SluiceMetrics
import Synchronization

/// The Prometheus backend behind the swift-metrics API: the one place Prometheus types appear.
/// Installed once per process, the first time a server is started with `--metrics-listen`.
enum MetricsExposition {
    private static let installed = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The registry every metric of the process records into; bootstraps the metrics system
    /// on the first call (swift-metrics allows one bootstrap per process).
    static func registry() -> PrometheusCollectorRegistry {
        installed.withLock { installed in
            if let registry = installed { return registry }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            // A pool wait is usually microseconds; the default buckets start at 5 ms.
            factory.durationHistogramBuckets["sluice_db_pool_wait_seconds"] = [
                .microseconds(100), .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100),
                .milliseconds(500), .seconds(2), .seconds(10),
            ]
            MetricsSystem.bootstrap(factory)
            SluiceMetrics.registerKnownSeries()
            installed = registry
            return registry
        }
    }
}
