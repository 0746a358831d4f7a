import Logging
import SluicePostgres
import SluiceServer
import Synchronization

/// Keeps grpc.health.v1 truthful about the metadata database: probes it (`SELECT 1` on a
/// connection of its own, so a busy pool does not look like an outage) every `interval`, and
/// sets the storage services and the server as a whole NOT_SERVING while a probe fails or takes
/// longer than `timeout`, SERVING again once one succeeds. Logs each change.
struct DatabaseHealthMonitor: Sendable {
    let probe: PostgresPool
    let registry: HealthStatusRegistry
    /// The services that need the database, beside "" (the whole server).
    let services: [String]
    let interval: Duration
    let timeout: Duration
    let logger: Logger

    /// Probes until the task is cancelled.
    func run() async {
        var reachable = true
        var probing: Task<String?, Never>?
        while !Task.isCancelled {
            // A probe stuck on a hung connection is waited for again, never doubled up.
            let current = probing ?? Task { [probe] in
                do {
                    try await probe.withConnection { try $0.execute("SELECT 1") }
                    return nil
                } catch {
                    return "\(error)"
                }
            }
            let outcome = await Self.first(current, orAfter: timeout)
            probing = outcome.finished ? nil : current
            let failure = outcome.finished ? outcome.failure : "no answer within \(timeout)"
            if (failure == nil) != reachable {
                reachable = failure == nil
                if let failure {
                    logger.warning("database unreachable: storage is NOT_SERVING", metadata: ["error": "\(failure)"])
                } else {
                    logger.notice("database reachable again: storage is SERVING")
                }
            }
            for service in [""] + services {
                registry.set(service: service, status: reachable ? .serving : .notServing)
            }
            try? await Task.sleep(for: interval)
        }
        probing?.cancel()
    }

    /// The probe's answer if it comes within `limit`; otherwise `finished` is false and the
    /// probe runs on (a blocking libpq call cannot be interrupted).
    private static func first(_ probe: Task<String?, Never>, orAfter limit: Duration) async
        -> (finished: Bool, failure: String?)
    {
        await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            Task { once.resume((true, await probe.value)) }
            Task {
                try? await Task.sleep(for: limit)
                once.resume((false, nil))
            }
        }
    }
}

/// Resumes a continuation with the first value offered; later ones are dropped.
private final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, Never>?>

    init(_ continuation: CheckedContinuation<Value, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: Value) {
        let taken = continuation.withLock { stored -> CheckedContinuation<Value, Never>? in
            defer { stored = nil }
            return stored
        }
        taken?.resume(returning: value)
    }
}
