import SluiceProto
import SluiceRPC
import SwiftProtobuf

/// gRPC server reflection, served under both grpc.reflection.v1 and the older
/// grpc.reflection.v1alpha (which many clients still ask for). The two protocols are
/// wire-identical, so one `ReflectionResponder` answers both; v1alpha messages are
/// converted by re-serializing them.
///
///     var router = Router()
///     router.register(HealthService(registry: health))
///     router.register(try ReflectionService(serviceNames: router.serviceNames))
public struct ReflectionService: RPCService {
    /// The two reflection services this registers.
    public static let serviceNames = [
        Grpc_Reflection_V1_ServerReflection.serviceName,
        Grpc_Reflection_V1alpha_ServerReflection.serviceName,
    ]

    /// The answers, shared by both versions.
    public let responder: ReflectionResponder

    /// Describes `serviceNames` (the reflection services are added to them) from the
    /// given descriptors, by default every file Sluice's protos were generated from.
    /// Throws when a descriptor does not parse.
    public init(
        serviceNames: [String],
        files: [String: [UInt8]] = SluiceProtoFiles.serializedFileDescriptors
    ) throws {
        self.responder = ReflectionResponder(
            serviceNames: serviceNames + Self.serviceNames,
            index: try DescriptorIndex(serializedFiles: files))
    }

    public func register(into router: inout Router) {
        router.register(V1(responder: responder))
        router.register(V1Alpha(responder: responder))
    }
}

extension ReflectionService {
    /// grpc.reflection.v1.ServerReflection: one answer per request, in order.
    struct V1: Grpc_Reflection_V1_ServerReflectionService {
        let responder: ReflectionResponder

        func serverReflectionInfo(
            requests: ServerRequestStream<Grpc_Reflection_V1_ServerReflectionRequest>,
            response: ServerResponseWriter<Grpc_Reflection_V1_ServerReflectionResponse>,
            context: ServerContext
        ) async throws {
            for try await request in requests {
                try await response.write(responder.respond(to: request))
            }
        }
    }

    /// grpc.reflection.v1alpha.ServerReflection, answered through the v1 responder.
    struct V1Alpha: Grpc_Reflection_V1alpha_ServerReflectionService {
        let responder: ReflectionResponder

        func serverReflectionInfo(
            requests: ServerRequestStream<Grpc_Reflection_V1alpha_ServerReflectionRequest>,
            response: ServerResponseWriter<Grpc_Reflection_V1alpha_ServerReflectionResponse>,
            context: ServerContext
        ) async throws {
            for try await request in requests {
                let answer = responder.respond(to: try convert(request))
                try await response.write(try convert(answer))
            }
        }
    }
}

/// Re-reads a message as another type with the same wire format.
private func convert<Output: SwiftProtobuf.Message>(_ message: some SwiftProtobuf.Message) throws -> Output {
    let bytes: [UInt8] = try message.serializedBytes()
    return try Output(serializedBytes: bytes)
}
