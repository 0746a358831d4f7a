/// The header fields that carry a call's outcome, built in one place so every way of ending
/// a call (a handler's status, a rejected request, a transport-level refusal) says it alike.
public enum StatusFields {
    /// The longest status message sent, in UTF-8 bytes before percent-encoding (at most three
    /// times as many after). A message that echoes what a client sent could otherwise be as
    /// large as its request, and a header block that large cannot be sent at all.
    public static let maxMessageBytes = 2048

    /// `grpc-status`, and `grpc-message` percent-encoded (left out when there is none), the
    /// message cut to ``maxMessageBytes``.
    public static func status(_ code: StatusCode, _ message: String) -> [HeaderField] {
        var fields = [HeaderField("grpc-status", String(code.rawValue))]
        if !message.isEmpty { fields.append(HeaderField("grpc-message", PercentEncoding.encode(bounded(message)))) }
        return fields
    }

    /// `message` cut to at most ``maxMessageBytes`` of UTF-8 at a character's end, "…" marking
    /// the cut: the text a client receives, and so the text its call is logged with.
    public static func bounded(_ message: String) -> String {
        guard message.utf8.count > maxMessageBytes else { return message }
        let ellipsis = "…"
        var kept = ""
        var bytes = ellipsis.utf8.count
        for character in message {
            bytes += character.utf8.count
            guard bytes <= maxMessageBytes else { break }
            kept.append(character)
        }
        guard kept.isEmpty else { return kept + ellipsis }
        // One character longer than the whole limit (a letter under thousands of combining
        // marks): cut between its scalars instead, rather than send nothing of it.
        var scalars = String.UnicodeScalarView()
        bytes = ellipsis.utf8.count
        for scalar in message.unicodeScalars {
            bytes += String(scalar).utf8.count
            guard bytes <= maxMessageBytes else { break }
            scalars.append(scalar)
        }
        return String(scalars) + ellipsis
    }
}
