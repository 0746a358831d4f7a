import SluiceProto
import SluiceRPC

/// grpc.health.v1.Health, answered from a `HealthStatusRegistry`.
///
/// Check fails with NOT_FOUND for a service the registry does not know; Watch reports
/// such a service as SERVICE_UNKNOWN and keeps watching, since it may appear later.
public struct HealthService: Grpc_Health_V1_HealthService {
    /// Where the statuses come from.
    public let registry: HealthStatusRegistry

    public init(registry: HealthStatusRegistry) {
        self.registry = registry
    }

    public func check(
        request: Grpc_Health_V1_HealthCheckRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = registry.status(of: request.service) else {
            let name = request.service.count > 80 ? request.service.prefix(80) + "…" : request.service
            throw RPCError(.notFound, "unknown service '\(name)'")
        }
        return .with { $0.status = status }
    }

    public func list(
        request: Grpc_Health_V1_HealthListRequest, context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthListResponse {
        .with { response in
            for (service, status) in registry.allStatuses {
                response.statuses[service] = .with { $0.status = status }
            }
        }
    }

    /// Sends the current status at once, then each change (never the same status
    /// twice in a row), until the client goes away or the registry shuts down.
    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        response: ServerResponseWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        var lastSent: ServingStatus?
        for await status in registry.updates(of: request.service) where status != lastSent {
            try await response.write(.with { $0.status = status })
            lastSent = status
        }
        // The updates end early only when this task was cancelled (the client left).
        try Task.checkCancellation()
    }
}
