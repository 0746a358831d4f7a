import Foundation
import SluiceProto
import SluiceRPC

/// Answers server reflection requests (grpc.reflection.v1 messages) from a
/// `DescriptorIndex` and the names of the services a server offers.
///
/// It is a pure mapping from one request to one response, so it is tested without a
/// transport; `ReflectionService` runs it for both reflection protocol versions.
public struct ReflectionResponder: Sendable {
    public typealias Request = Grpc_Reflection_V1_ServerReflectionRequest
    public typealias Response = Grpc_Reflection_V1_ServerReflectionResponse

    /// The services list_services reports, sorted.
    public let serviceNames: [String]
    /// The files the answers come from.
    public let index: DescriptorIndex

    public init(serviceNames: [String], index: DescriptorIndex) {
        self.serviceNames = Array(Set(serviceNames)).sorted()
        self.index = index
    }

    /// The answer to one request. Failures are answered, not thrown: an error_response
    /// with NOT_FOUND for an unknown file, symbol or extension, INVALID_ARGUMENT for a
    /// request that asks nothing.
    public func respond(to request: Request) -> Response {
        var response = Response()
        response.validHost = request.host
        response.originalRequest = request
        response.messageResponse = answer(request.messageRequest)
        return response
    }

    private func answer(_ question: Request.OneOf_MessageRequest?) -> Response.OneOf_MessageResponse {
        switch question {
        case .fileByFilename(let name):
            return files(index.contains(file: name) ? name : nil, notFound: "file '\(name)' not found")
        case .fileContainingSymbol(let symbol):
            return files(index.file(definingSymbol: symbol), notFound: "symbol '\(symbol)' not found")
        case .fileContainingExtension(let request):
            return files(
                index.file(definingExtensionOf: request.containingType, number: request.extensionNumber),
                notFound: "extension \(request.extensionNumber) of '\(request.containingType)' not found")
        case .allExtensionNumbersOfType(let type):
            guard index.isMessageType(type) else { return error(.notFound, "type '\(type)' not found") }
            return .allExtensionNumbersResponse(.with {
                $0.baseTypeName = type.hasPrefix(".") ? String(type.dropFirst()) : type
                $0.extensionNumber = index.extensionNumbers(of: type)
            })
        case .listServices:
            return .listServicesResponse(.with {
                $0.service = serviceNames.map { name in .with { $0.name = name } }
            })
        case nil:
            return error(.invalidArgument, "the request asks nothing: no message_request field is set")
        }
    }

    /// The named file with its transitive imports, or NOT_FOUND.
    private func files(_ name: String?, notFound message: String) -> Response.OneOf_MessageResponse {
        guard let name, let files = index.serializedFileWithDependencies(name) else {
            return error(.notFound, message)
        }
        return .fileDescriptorResponse(.with { $0.fileDescriptorProto = files.map { Data($0) } })
    }

    private func error(_ code: StatusCode, _ message: String) -> Response.OneOf_MessageResponse {
        .errorResponse(.with {
            $0.errorCode = Int32(code.rawValue)
            $0.errorMessage = message
        })
    }
}
