import Foundation
import SluiceProto
import SluiceRPC
import SluiceServer
import SwiftProtobuf
import Testing

@Suite struct ReflectionResponderTests {
    typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    typealias FileProto = Google_Protobuf_FileDescriptorProto

    let responder = ReflectionResponder(
        serviceNames: ["sluice.interop.v1.EchoService", "grpc.health.v1.Health"],
        index: try! DescriptorIndex(serializedFiles: SluiceProtoFiles.serializedFileDescriptors))

    /// The files of a file_descriptor_response, parsed.
    func files(_ request: Request, from responder: ReflectionResponder? = nil) throws -> [FileProto] {
        let response = (responder ?? self.responder).respond(to: request)
        guard case .fileDescriptorResponse(let files)? = response.messageResponse else {
            Issue.record("expected files, got \(response)")
            return []
        }
        return try files.fileDescriptorProto.map { try FileProto(serializedBytes: $0) }
    }

    func errorCode(_ request: Request) -> Int32? {
        guard case .errorResponse(let error)? = responder.respond(to: request).messageResponse else { return nil }
        return error.errorCode
    }

    @Test func generatedRegistryHoldsEveryProtoWithoutSourceInfo() throws {
        let names = Set(SluiceProtoFiles.serializedFileDescriptors.keys)
        #expect(names.isSuperset(of: [
            "grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto",
            "grpc/reflection/v1alpha/reflection.proto", "sluice/interop/v1/echo.proto",
        ]))
        #expect(Set(SluiceProtoFiles.fileNames) == names)
        for (name, bytes) in SluiceProtoFiles.serializedFileDescriptors {
            let file = try FileProto(serializedBytes: bytes)
            #expect(file.name == name)
            #expect(!file.hasSourceCodeInfo)
        }
    }

    @Test func listServicesIsSortedAndEchoesTheRequest() {
        let request = Request.with { $0.host = "example:443"; $0.listServices = "*" }
        let response = responder.respond(to: request)
        #expect(response.validHost == "example:443")
        #expect(response.originalRequest == request)
        #expect(response.listServicesResponse.service.map(\.name) == ["grpc.health.v1.Health", "sluice.interop.v1.EchoService"])
    }

    @Test func fileByFilename() throws {
        let found = try files(.with { $0.fileByFilename = "sluice/interop/v1/echo.proto" })
        #expect(found.map(\.name) == ["sluice/interop/v1/echo.proto"])
        #expect(found.first?.service.first?.method.map(\.name) == ["UnaryEcho", "ClientStreamEcho", "ServerStreamEcho", "BidiEcho", "GetStats"])
        #expect(errorCode(.with { $0.fileByFilename = "no/such.proto" }) == 5)
    }

    @Test(arguments: [
        ("grpc.health.v1.Health", "grpc/health/v1/health.proto"),
        ("grpc.health.v1.Health.Watch", "grpc/health/v1/health.proto"),
        (".grpc.health.v1.HealthCheckRequest", "grpc/health/v1/health.proto"),
        ("grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"),
        ("grpc.health.v1.HealthCheckResponse.SERVICE_UNKNOWN", "grpc/health/v1/health.proto"),
        ("grpc.health.v1.HealthListResponse.StatusesEntry", "grpc/health/v1/health.proto"),
        ("grpc.health.v1.HealthCheckRequest.service", "grpc/health/v1/health.proto"),
        ("grpc.reflection.v1alpha.ServerReflectionRequest.message_request", "grpc/reflection/v1alpha/reflection.proto"),
        ("grpc.reflection.v1.ServerReflection", "grpc/reflection/v1/reflection.proto"),
        ("sluice.interop.v1.EchoService.BidiEcho", "sluice/interop/v1/echo.proto"),
        ("sluice.interop.v1.EchoStatus", "sluice/interop/v1/echo.proto"),
    ])
    func fileContainingSymbol(symbol: String, file: String) throws {
        #expect(try files(.with { $0.fileContainingSymbol = symbol }).first?.name == file)
    }

    @Test(arguments: ["no.such.Symbol", "grpc.health.v1", "grpc.health.v1.Health.NoSuchMethod", ""])
    func unknownSymbolIsNotFound(symbol: String) {
        #expect(errorCode(.with { $0.fileContainingSymbol = symbol }) == Int32(StatusCode.notFound.rawValue))
    }

    @Test func emptyRequestIsInvalidArgument() {
        #expect(errorCode(Request()) == Int32(StatusCode.invalidArgument.rawValue))
    }

    @Test func knownTypeWithoutExtensionsHasNoNumbers() {
        let response = responder.respond(to: .with { $0.allExtensionNumbersOfType = "sluice.interop.v1.EchoRequest" })
        #expect(response.allExtensionNumbersResponse.baseTypeName == "sluice.interop.v1.EchoRequest")
        #expect(response.allExtensionNumbersResponse.extensionNumber.isEmpty)
        #expect(errorCode(.with { $0.allExtensionNumbersOfType = "no.such.Type" }) == 5)
        #expect(errorCode(.with {
            $0.fileContainingExtension = .with { $0.containingType = "sluice.interop.v1.EchoRequest"; $0.extensionNumber = 100 }
        }) == 5)
    }

    /// c.proto <- b.proto <- a.proto, and d.proto extends a message of c.proto.
    func syntheticResponder() throws -> ReflectionResponder {
        func file(_ name: String, _ package: String, imports: [String], build: (inout FileProto) -> Void = { _ in }) throws
            -> (String, [UInt8])
        {
            var proto = FileProto()
            proto.name = name
            proto.package = package
            proto.dependency = imports
            build(&proto)
            return (name, try proto.serializedBytes())
        }
        let files = try [
            file("c.proto", "pkg.c", imports: []) { proto in
                proto.messageType = [.with { $0.name = "Base"; $0.extensionRange = [.with { $0.start = 100; $0.end = 200 }] }]
            },
            file("b.proto", "pkg.b", imports: ["c.proto"]) { proto in
                proto.messageType = [.with {
                    $0.name = "Outer"
                    $0.nestedType = [.with { $0.name = "Inner" }]
                    $0.enumType = [.with { $0.name = "Kind"; $0.value = [.with { $0.name = "KIND_A" }] }]
                }]
            },
            file("a.proto", "pkg.a", imports: ["b.proto", "c.proto"]) { proto in
                proto.service = [.with { $0.name = "Svc"; $0.method = [.with { $0.name = "Do" }] }]
            },
            file("d.proto", "pkg.d", imports: ["c.proto"]) { proto in
                proto.extension = [.with { $0.name = "extra"; $0.number = 150; $0.extendee = ".pkg.c.Base" }]
                proto.messageType = [.with {
                    $0.name = "Holder"
                    $0.extension = [.with { $0.name = "nested_extra"; $0.number = 101; $0.extendee = ".pkg.c.Base" }]
                }]
            },
        ]
        return ReflectionResponder(serviceNames: ["pkg.a.Svc"], index: try DescriptorIndex(serializedFiles: Dictionary(uniqueKeysWithValues: files)))
    }

    @Test func answersIncludeTransitiveDependenciesOnce() throws {
        let responder = try syntheticResponder()
        #expect(try files(.with { $0.fileContainingSymbol = "pkg.a.Svc.Do" }, from: responder).map(\.name) == ["a.proto", "b.proto", "c.proto"])
        #expect(try files(.with { $0.fileByFilename = "b.proto" }, from: responder).map(\.name) == ["b.proto", "c.proto"])
        #expect(try files(.with { $0.fileContainingSymbol = "pkg.b.Outer.Inner" }, from: responder).first?.name == "b.proto")
        #expect(try files(.with { $0.fileContainingSymbol = "pkg.b.Outer.KIND_A" }, from: responder).first?.name == "b.proto")
    }

    @Test func extensions() throws {
        let responder = try syntheticResponder()
        let numbers = responder.respond(to: .with { $0.allExtensionNumbersOfType = "pkg.c.Base" })
        #expect(numbers.allExtensionNumbersResponse.extensionNumber == [101, 150])
        let found = try files(.with {
            $0.fileContainingExtension = .with { $0.containingType = "pkg.c.Base"; $0.extensionNumber = 150 }
        }, from: responder)
        #expect(found.map(\.name) == ["d.proto", "c.proto"])
        #expect(try files(.with { $0.fileContainingSymbol = "pkg.d.Holder.nested_extra" }, from: responder).first?.name == "d.proto")
    }

    @Test func malformedDescriptorIsRejected() {
        #expect(throws: (any Error).self) { try DescriptorIndex(serializedFiles: ["bad.proto": [0xFF, 0xFF, 0xFF]]) }
    }
}

@Suite struct ReflectionServiceTests {
    @Test func registersBothVersionsAndListsThem() throws {
        var router = Router()
        router.register(HealthService(registry: HealthStatusRegistry()))
        let service = try ReflectionService(serviceNames: router.serviceNames)
        router.register(service)
        #expect(router.serviceNames == [
            "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection",
        ])
        #expect(service.responder.serviceNames == router.serviceNames)
    }

    @Test func bothVersionsAnswerOverTheWire() async throws {
        let server = try TestServer()
        let v1 = Grpc_Reflection_V1_ServerReflectionClient(server.client)
        let v1Answers = try await v1.serverReflectionInfo { requests, responses in
            try await requests.write(.with { $0.listServices = "" })
            try await requests.write(.with { $0.fileContainingSymbol = "sluice.interop.v1.EchoService" })
            try await requests.write(.with { $0.fileContainingSymbol = "no.such.Symbol" })
            try await requests.finish()
            return try await responses.reduce(into: []) { $0.append($1) }
        }
        let v1alpha = Grpc_Reflection_V1alpha_ServerReflectionClient(server.client)
        let v1alphaAnswers = try await v1alpha.serverReflectionInfo { requests, responses in
            try await requests.write(.with { $0.listServices = "" })
            try await requests.write(.with { $0.fileContainingSymbol = "sluice.interop.v1.EchoService" })
            try await requests.write(.with { $0.fileContainingSymbol = "no.such.Symbol" })
            try await requests.finish()
            return try await responses.reduce(into: []) { $0.append($1) }
        }
        #expect(v1Answers.count == 3)
        #expect(v1Answers[0].listServicesResponse.service.map(\.name) == [
            "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
            "grpc.reflection.v1alpha.ServerReflection", "sluice.interop.v1.EchoService",
        ])
        #expect(v1Answers[2].errorResponse.errorCode == 5)
        // The two versions answer byte for byte alike.
        let v1Bytes = try v1Answers.map { try $0.serializedBytes() as [UInt8] }
        let v1alphaBytes = try v1alphaAnswers.map { try $0.serializedBytes() as [UInt8] }
        #expect(v1Bytes == v1alphaBytes)
    }
}
