import SluiceRPC

/// What gRPC over HTTP/2 puts in a response's first header block beside the call's own
/// fields, and how a client reads it (PROTOCOL-HTTP2: `:status` 200 and a gRPC content-type,
/// else a status synthesized from the HTTP status).
enum GRPCResponseHead {
    /// The header block of a response head: `:status` and `content-type`, then the call's `fields`.
    static func make(httpStatus: Int = 200, fields: [HeaderField]) -> [HeaderField] {
        [HeaderField(":status", String(httpStatus)), HeaderField("content-type", "application/grpc")] + fields
    }

    /// What a client's call receives for a response head: its gRPC fields, or — for an answer
    /// that is not gRPC — the status that stands for it, as trailers that end the call.
    static func read(_ fields: [HeaderField]) -> ClientStreamEvent {
        let httpStatus = Int(fields.first(named: ":status") ?? "") ?? 0
        let callFields = fields.filter { !$0.name.hasPrefix(":") && $0.name != "content-type" }
        if httpStatus == 200 {
            let contentType = fields.first(named: "content-type") ?? ""
            guard GRPCRequestHead.isGRPCContentType(contentType) else {
                return .trailers(StatusFields.status(
                    .unknown, "the server answered content-type '\(contentType)', not application/grpc"))
            }
        } else if fields.first(named: "grpc-status") == nil {
            // Without a gRPC status of its own, an HTTP error stands for one.
            return .trailers(StatusFields.status(
                StatusCode(httpStatus: httpStatus), "the server answered HTTP status \(httpStatus)"))
        }
        return .headers(callFields)
    }
}
