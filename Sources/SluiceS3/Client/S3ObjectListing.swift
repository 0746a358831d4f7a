import Foundation

/// One page of a ListObjectsV2 answer.
public struct S3ObjectListing: Sendable {
    /// One listed object.
    public struct Entry: Sendable, Equatable {
        public var key: String
        public var lastModified: Date
        public var size: Int64
    }

    public var entries: [Entry]
    /// Where the next page starts, when there is one.
    public var nextContinuationToken: String?

    init?(_ document: S3XMLElement) {
        guard document.name == "ListBucketResult" else { return nil }
        var entries: [Entry] = []
        for element in document.children where element.name == "Contents" {
            guard let key = element.value("Key"),
                  let modified = element.value("LastModified").flatMap(Self.parseDate),
                  let size = element.value("Size").flatMap(Int64.init)
            else { return nil }
            entries.append(Entry(key: key, lastModified: modified, size: size))
        }
        self.entries = entries
        self.nextContinuationToken = document.value("IsTruncated") == "true" ? document.value("NextContinuationToken") : nil
    }

    /// S3 writes ISO 8601 times with milliseconds; some compatible servers leave them out.
    private static func parseDate(_ text: String) -> Date? {
        let precise = ISO8601DateFormatter()
        precise.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return precise.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}
