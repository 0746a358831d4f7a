import SluicePostgres

/// The byte budget of one listing page. Page sizes count items, but an item's size varies by
/// four orders of magnitude (an object with 64 entries of user metadata encodes to about
/// 74 KB), so a page of 1,000 items could reach tens of MB: more than a stock gRPC client
/// accepts (4 MiB by default), and as much memory per call on the server. So a page also ends
/// before its items' encoded size would pass ``maxBytes``, with a next page token like any page
/// that ends early; a page always holds at least one item (the largest possible item is far
/// below the budget).
///
/// Sizes are upper bounds of an item's protobuf encoding, computed from the record (this layer
/// knows nothing of the messages): the variable-length fields' bytes plus ``fixedBytes`` for
/// every number, timestamp, tag and length prefix of the message and its place in the page.
public enum PageBudget {
    /// Most encoded bytes of a page's items: 1 MiB, a quarter of gRPC's default receive limit,
    /// leaving room for the response's other fields (a page token is at most 4,096 characters).
    public static let maxBytes = 1 << 20

    /// Room for the fixed-size fields of one item, with every tag and length prefix: far more
    /// than the numbers, hashes, timestamps and enums of an object or session take (under 200).
    static let fixedBytes = 256

    /// Most bytes an item's variable-length fields may add per entry of a string map (the map
    /// entry's tag and length, and the key's and value's tags and lengths).
    static let mapEntryBytes = 12

    /// Most bytes a string or bytes field adds besides its contents (tag and length).
    static let fieldBytes = 6

    /// The encoded size of an object version as a listing item (without partitions, which
    /// listings leave out).
    static func encodedSize(of record: ObjectVersionRecord) -> Int {
        fixedBytes + string(record.name) + string(record.contentType) + metadata(record.userMetadata)
            + string(record.owner) + string(record.writtenBy) + record.sha256.count + record.compositeSHA256.count
    }

    /// The encoded size of a session as a listing item: its stored partition indexes are
    /// packed varints; its partition hashes count as listed (a listing leaves them out).
    static func encodedSize(of record: SessionRecord) -> Int {
        fixedBytes + string(record.objectName) + string(record.contentType) + metadata(record.userMetadata)
            + string(record.ownerHandle) + (record.objectSHA256?.count ?? 0)
            + record.storedPartitions.reduce(0) { $0 + varintBytes(UInt64($1)) }
            + record.partitionSHA256.reduce(0) { $0 + fieldBytes + $1.count }
    }

    /// The encoded size of a principal as an administrator's listing item: its identity (made
    /// from a certificate's names, so of no fixed length) and handle, and twice the fixed room of
    /// other items for its overrides, quotas and rate limits (under 300 bytes together).
    static func encodedSize(of view: PrincipalRecordView) -> Int {
        2 * fixedBytes + string(view.principal.name) + string(view.principal.handle)
    }

    /// The encoded size of a common prefix in a folder-style listing.
    static func encodedSize(ofPrefix prefix: String) -> Int {
        string(prefix)
    }

    private static func string(_ text: String) -> Int {
        fieldBytes + text.utf8.count
    }

    private static func metadata(_ entries: [String: String]) -> Int {
        entries.reduce(0) { $0 + mapEntryBytes + $1.key.utf8.count + $1.value.utf8.count }
    }

    private static func varintBytes(_ value: UInt64) -> Int {
        (64 - value.leadingZeroBitCount + 6) / 7 + (value == 0 ? 1 : 0)
    }

    /// Wraps a listing's `SELECT` so that PostgreSQL sends at most about ``maxBytes`` of it: the
    /// rows in order until the running sum of their `page_cost` (an SQL estimate of each row's
    /// size, which `select` must output) passes the budget, that row included (so a batch is
    /// never empty). The rows carry `page_running`, the running sum: ``cutShort(_:)`` says
    /// whether rows may have been left out, so the caller reads on from the last row it got
    /// while its page has room. This bounds the server's memory per listing call whatever the
    /// rows hold, before any page is assembled.
    static func bounded(_ select: String, order: String) -> String {
        """
        SELECT * FROM (
            SELECT page_rows.*, sum(page_rows.page_cost) OVER (ORDER BY \(order) ROWS UNBOUNDED PRECEDING) AS page_running
            FROM (\(select)) page_rows
        ) page_window
        WHERE page_window.page_running - page_window.page_cost < \(maxBytes)
        ORDER BY \(order)
        """
    }

    /// Whether a batch read through ``bounded(_:order:)`` stopped at the budget rather than
    /// at its row limit or the end of the listing.
    static func cutShort(_ rows: [PostgresRow]) throws -> Bool {
        guard let last = rows.last else { return false }
        return try last.int("page_running") >= maxBytes
    }
}
