import SluiceMetrics
import SluiceRPC

/// What gRPC over HTTP/2 puts in a request's header block beside the call's own fields, and
/// what a server requires of it before a call starts (PROTOCOL-HTTP2: POST, a gRPC
/// content-type, the method as `:path`).
enum GRPCRequestHead {
    /// How a server takes a request's header block.
    enum Reading: Equatable {
        /// A gRPC call: its method path and its fields without the transport's own.
        case call(path: String, fields: [HeaderField])
        /// Not a gRPC request: answered with this HTTP status and a gRPC status of INTERNAL.
        case refused(httpStatus: Int, message: String, reason: SluiceMetrics.RequestRefusal)
    }

    /// The fields gRPC over HTTP/2 owns; the call never sees them.
    private static let transportFields: Set<String> = ["content-type", "te", "content-length", "connection"]

    /// The header block of a request for the method at `path`, followed by the call's `fields`.
    static func make(path: String, authority: String, scheme: String, fields: [HeaderField]) -> [HeaderField] {
        [
            HeaderField(":method", "POST"),
            HeaderField(":scheme", scheme),
            HeaderField(":path", path),
            HeaderField(":authority", authority),
            HeaderField("content-type", "application/grpc"),
            HeaderField("te", "trailers"),
        ] + fields
    }

    /// Checks a request's header block and parts the transport's fields from the call's.
    static func read(_ fields: [HeaderField]) -> Reading {
        guard fields.first(named: ":method") == "POST" else {
            return .refused(httpStatus: 405, message: "gRPC requires the POST method", reason: .method)
        }
        let contentType = fields.first(named: "content-type") ?? ""
        guard isGRPCContentType(contentType) else {
            return .refused(
                httpStatus: 415, message: "content-type '\(contentType)' is not application/grpc", reason: .contentType)
        }
        let callFields = fields.filter { !$0.name.hasPrefix(":") && !transportFields.contains($0.name) }
        return .call(path: fields.first(named: ":path") ?? "", fields: callFields)
    }

    /// `application/grpc`, alone or with a `+format` or `;parameters` suffix.
    static func isGRPCContentType(_ value: String) -> Bool {
        value == "application/grpc" || value.hasPrefix("application/grpc+") || value.hasPrefix("application/grpc;")
    }
}
