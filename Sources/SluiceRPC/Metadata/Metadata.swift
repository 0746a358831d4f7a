/// Custom metadata of a call: an ordered multimap of lower-case keys to values.
///
/// Keys ending in `-bin` carry bytes (base64 on the wire); all other keys carry printable
/// ASCII. Reserved keys (pseudo-headers, `grpc-*` but `grpc-retry-pushback-ms`, `content-type`,
/// `te`, `user-agent`) are owned by the RPC layer and never appear here.
public struct Metadata: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    /// One metadata value: text for ordinary keys, bytes for `-bin` keys.
    public enum Value: Sendable, Hashable {
        case string(String)
        case binary([UInt8])
    }

    /// One key and its value.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var value: Value
    }

    private var entries: [Entry] = []

    public init() {}

    public init(dictionaryLiteral elements: (String, Value)...) {
        for (key, value) in elements { add(key, value) }
    }

    public var isEmpty: Bool { entries.isEmpty }
    public var count: Int { entries.count }

    /// Adds a value; the key is lower-cased. A `-bin` key should carry `.binary`.
    public mutating func add(_ key: String, _ value: Value) {
        entries.append(Entry(key: key.lowercased(), value: value))
    }

    public mutating func add(_ key: String, _ text: String) { add(key, .string(text)) }

    public mutating func add(_ key: String, bytes: [UInt8]) { add(key, .binary(bytes)) }

    public mutating func append(contentsOf other: Metadata) { entries.append(contentsOf: other.entries) }

    /// Every value under the key, in order.
    public func values(for key: String) -> [Value] {
        let key = key.lowercased()
        return entries.filter { $0.key == key }.map(\.value)
    }

    /// The first text value under the key.
    public func firstString(_ key: String) -> String? {
        for case .string(let text) in values(for: key) { return text }
        return nil
    }

    /// The first bytes value under the key.
    public func firstBytes(_ key: String) -> [UInt8]? {
        for case .binary(let bytes) in values(for: key) { return bytes }
        return nil
    }

    /// The entries whose key satisfies the predicate.
    public func filter(_ isIncluded: (String) -> Bool) -> Metadata {
        var result = Metadata()
        result.entries = entries.filter { isIncluded($0.key) }
        return result
    }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }
}

extension Metadata {
    /// The gRPC retry pushback trailer (milliseconds to wait before retrying; negative: do not
    /// retry). A `grpc-` key, but it is the application's to send (a rate limiter) and to read
    /// (a retry policy), so it passes through metadata both ways.
    public static let retryPushbackKey = "grpc-retry-pushback-ms"

    /// The trailers of a refusal that sending the same again cannot pass (a message larger
    /// than the receiver takes): a negative pushback, so that a client does not retry it.
    public static let retryRefused: Metadata = [retryPushbackKey: .string("-1")]

    /// Whether a header name belongs to the RPC layer rather than to the application.
    static func isReserved(_ name: String) -> Bool {
        name.hasPrefix(":") || (name.hasPrefix("grpc-") && name != retryPushbackKey) || name == "content-type"
            || name == "te" || name == "user-agent" || name == "content-length" || name == "connection"
    }

    /// Decodes application metadata from HTTP/2 header fields, skipping reserved ones.
    /// A `-bin` value that is not valid base64 is dropped rather than failing the call.
    init(headerFields: [HeaderField]) {
        self.init()
        for field in headerFields where !Metadata.isReserved(field.name) {
            if field.name.hasSuffix("-bin") {
                // Several binary values may arrive joined by commas; an empty value is one
                // empty byte string.
                for part in field.value.split(separator: ",", omittingEmptySubsequences: false) {
                    if let bytes = Base64.decode(part.trimmingCharacters(in: " ")) {
                        add(field.name, .binary(bytes))
                    }
                }
            } else {
                add(field.name, .string(field.value))
            }
        }
    }

    /// Encodes application metadata as HTTP/2 header fields.
    var headerFields: [HeaderField] {
        entries.compactMap { entry in
            guard !Metadata.isReserved(entry.key) else { return nil }
            switch entry.value {
            case .string(let text): return HeaderField(entry.key, text)
            case .binary(let bytes): return HeaderField(entry.key, Base64.encode(bytes))
            }
        }
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Character) -> String {
        var slice = self[...]
        while slice.first == set { slice = slice.dropFirst() }
        while slice.last == set { slice = slice.dropLast() }
        return String(slice)
    }
}
