/// The header fields that carry a call's outcome, built in one place so every way of ending
/// a call (a handler's status, a rejected request, a transport-level refusal) says it alike.
public enum StatusFields {
    /// `grpc-status`, and `grpc-message` percent-encoded (left out when there is none).
    public static func status(_ code: StatusCode, _ message: String) -> [HeaderField] {
        var fields = [HeaderField("grpc-status", String(code.rawValue))]
        if !message.isEmpty { fields.append(HeaderField("grpc-message", PercentEncoding.encode(message))) }
        return fields
    }
}
