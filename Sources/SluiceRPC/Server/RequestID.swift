/// The id of one call, so that a client quoting it and the server's log line about it meet.
///
/// Every call gets one; the server sends it in the response header `sluice-request-id` and puts it
/// in the message of every failure whose cause stays in the server's log (`ConcealedError`).
public enum RequestID {
    /// The response header carrying the id.
    public static let headerName = "sluice-request-id"

    /// A fresh id: 64 random bits as 16 lowercase hex digits.
    public static func make() -> String {
        let value = UInt64.random(in: .min ... .max)
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
