/// `HOST:PORT` text, as flags and configuration give addresses; `[::1]:8443` for IPv6.
public enum HostAndPort {
    /// The host (brackets removed; possibly empty) and the port; nil unless the text ends
    /// with `:` and a port number from 0 to 65535. Callers apply their own rules on top.
    public static func split(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65_535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, port)
    }
}
