import SluiceProto
import Synchronization

/// Whether a service is taking calls, as grpc.health.v1 reports it.
public typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus

/// The serving status of each service a server offers, and the watchers waiting for
/// them to change. The empty service name stands for the server as a whole.
///
/// The server sets statuses as it starts, drains and stops; `HealthService` answers
/// Check, List and Watch from it.
public final class HealthStatusRegistry: Sendable {
    private struct Watcher {
        let service: String
        let continuation: AsyncStream<ServingStatus>.Continuation
    }

    private struct State {
        var statuses: [String: ServingStatus]
        var watchers: [Int: Watcher] = [:]
        var nextWatcherID = 0
        var isShutDown = false

        func notify(service: String, status: ServingStatus) {
            for watcher in watchers.values where watcher.service == service {
                watcher.continuation.yield(status)
            }
        }
    }

    private let state: Mutex<State>

    /// Starts with the given statuses; by default the server as a whole is SERVING.
    public init(statuses: [String: ServingStatus] = ["": .serving]) {
        state = Mutex(State(statuses: statuses))
    }

    /// Sets the status of a service ("" for the whole server) and tells its watchers when it
    /// changed. After `shutdown` nothing changes: a stopping server stays NOT_SERVING.
    public func set(service: String, status: ServingStatus) {
        state.withLock { state in
            guard !state.isShutDown, state.statuses[service] != status else { return }
            state.statuses[service] = status
            state.notify(service: service, status: status)
        }
    }

    /// Forgets a service; its watchers learn SERVICE_UNKNOWN.
    public func remove(service: String) {
        state.withLock { state in
            state.statuses[service] = nil
            state.notify(service: service, status: .serviceUnknown)
        }
    }

    /// The status of a service; nil when the registry does not know it.
    public func status(of service: String) -> ServingStatus? {
        state.withLock { $0.statuses[service] }
    }

    /// Every known service and its status.
    public var allStatuses: [String: ServingStatus] {
        state.withLock { $0.statuses }
    }

    /// For a server that is stopping: every service becomes NOT_SERVING, watchers are
    /// told so, and then every Watch call ends (new ones end after their first answer).
    public func shutdown() {
        let watchers = state.withLock { state in
            state.isShutDown = true
            for service in state.statuses.keys { state.statuses[service] = .notServing }
            for watcher in state.watchers.values {
                watcher.continuation.yield(state.statuses[watcher.service] ?? .serviceUnknown)
            }
            defer { state.watchers.removeAll() }
            return state.watchers.values.map(\.continuation)
        }
        // Finishing runs each stream's onTermination, which takes the lock: do it outside.
        for continuation in watchers { continuation.finish() }
    }

    /// The status of a service now and after every change, until the consuming task is
    /// cancelled or the registry shuts down. Only the latest status is buffered: a slow
    /// watcher skips statuses that were already replaced.
    public func updates(of service: String) -> AsyncStream<ServingStatus> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: ServingStatus.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state -> Int? in
            continuation.yield(state.statuses[service] ?? .serviceUnknown)
            guard !state.isShutDown else { return nil }
            let id = state.nextWatcherID
            state.nextWatcherID += 1
            state.watchers[id] = Watcher(service: service, continuation: continuation)
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.watchers.removeValue(forKey: id) }
        }
        return stream
    }
}
