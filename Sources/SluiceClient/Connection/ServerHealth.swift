import SluiceProto
import SluiceRPC

/// Asks the server's standard health service (grpc.health.v1) how it is.
public enum ServerHealth {
    /// The serving status of `service` (empty: the server as a whole).
    public static func check(
        client: RPCClient, service: String = "", timeout: Duration = .seconds(10)
    ) async throws -> Grpc_Health_V1_HealthCheckResponse.ServingStatus {
        var request = Grpc_Health_V1_HealthCheckRequest()
        request.service = service
        let health = Grpc_Health_V1_HealthClient(client)
        return try await health.check(request, options: CallOptions(timeout: timeout)).status
    }

    /// The status as grpc tools print it.
    public static func name(of status: Grpc_Health_V1_HealthCheckResponse.ServingStatus) -> String {
        switch status {
        case .serving: "SERVING"
        case .notServing: "NOT_SERVING"
        case .serviceUnknown: "SERVICE_UNKNOWN"
        default: "UNKNOWN"
        }
    }
}
