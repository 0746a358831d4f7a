import SluicePostgres

/// One page of a folder-style listing.
public struct ObjectListingPage: Sendable {
    public var objects: [ObjectVersionRecord]
    public var commonPrefixes: [String]
    public var nextPageToken: String
    /// The change log position of the snapshot the page was read in: watching from it
    /// misses nothing the page does not show and repeats nothing it does.
    public var changeCursor: ChangeCursor
}

extension ObjectCatalog {
    /// Lists current versions whose names start with `prefix`, in byte order. With a
    /// delimiter, names continuing past the prefix with the delimiter are rolled up into
    /// one common prefix each (ending with the delimiter). Objects and prefixes share the
    /// page size, the page's byte budget (``PageBudget``: a page ends early, with a next page
    /// token, before its encoded size would pass it) and the order. With `owner`, lists that
    /// owner's objects the caller has a grant on (and nothing else: an unknown owner or one
    /// sharing nothing lists empty).
    public func list(
        prefix: String, delimiter: String, principal: Principal, owner: Principal? = nil, pageSize: Int,
        pageToken: String
    ) async throws -> ObjectListingPage {
        let owner = owner ?? principal
        let size = try Paging.size(pageSize, limit: limits.maxPageSize)
        guard prefix.utf8.count <= ObjectName.maxBytes, !prefix.utf8.contains(0) else {
            throw StorageError.invalidArgument("prefix must be at most \(ObjectName.maxBytes) bytes without NUL")
        }
        guard delimiter.utf8.count <= 16, !delimiter.utf8.contains(0) else {
            throw StorageError.invalidArgument("delimiter must be at most 16 bytes without NUL")
        }
        let parameters = [prefix, delimiter, String(owner.id)]
        let resume = try ListingCursor.decode(
            pageTokens.redeem(pageToken, for: .objects, principal: principal, parameters: parameters))
        // One snapshot for the rows and the change cursor: watching from the cursor then shows
        // exactly the changes this page does not reflect (REPEATABLE READ; positions follow
        // commit order, see ChangeLog.record).
        let (page, hasMore, changeCursor) = try await database.transaction(isolation: .repeatableRead) { connection in
            let changeCursor = try ChangeFeed.head(on: connection)
            var cursor = resume?.key
            var rolledUp = resume?.isPrefix == true ? resume?.key : nil
            var page = ListingPage<ListingEntry>(size: size)
            // A name the delimiter rolls up into a common prefix needs no metadata: leaving it
            // out keeps a batch of such rows small, however much metadata they carry. The test is
            // commonPrefix(of:prefix:delimiter:)'s in SQL (a valid UTF-8 delimiter found in valid
            // UTF-8 text is found on character boundaries, so characters and bytes agree).
            let rolledUpInSQL = "($6 <> '' AND strpos(substr(o.name, char_length($2) + 1), $6) > 0)"
            let userMetadata = "CASE WHEN \(rolledUpInSQL) THEN '{}' ELSE v.user_metadata::text END"
            let batchSize = 500
            scanning: while true {
                let rows = try connection.execute(PageBudget.bounded("""
                    SELECT \(Self.versionColumns(userMetadata: userMetadata)),
                        \(Self.listingCost(userMetadata: userMetadata)) AS page_cost
                    FROM objects o
                    JOIN object_versions v ON v.object_id = o.id AND v.version = o.current_version
                    WHERE o.principal_id = $1 AND starts_with(o.name, $2) AND ($3::text IS NULL OR o.name > $3)
                      AND \(AccessRule.level(owner: "$1", caller: "$5", name: "o.name")) IS NOT NULL
                    ORDER BY o.name LIMIT $4
                    """, order: "name"), [
                        .int(owner.id), .text(prefix), cursor.map { .text($0) } ?? .null, .int(Int64(batchSize)),
                        .int(principal.id), .text(delimiter),
                    ]
                ).rows
                for row in rows {
                    let name = try row.string("name")
                    cursor = name
                    if let rolledUp, name.utf8.starts(with: rolledUp.utf8) { continue }
                    let entry: ListingEntry
                    let bytes: Int
                    if let common = Self.commonPrefix(of: name, prefix: prefix, delimiter: delimiter) {
                        entry = .prefix(common)
                        bytes = PageBudget.encodedSize(ofPrefix: common)
                    } else {
                        let record = try Self.record(from: row)
                        entry = .object(record)
                        bytes = PageBudget.encodedSize(of: record)
                    }
                    guard page.add(entry, bytes: bytes) else { break scanning }
                    if case .prefix(let common) = entry { rolledUp = common }
                }
                if rows.count < batchSize, try !PageBudget.cutShort(rows) { break }
            }
            return (page.items, page.hasMore, changeCursor)
        }
        var next = ""
        if hasMore, let last = page.last {
            next = pageTokens.issue(ListingCursor.encode(last), for: .objects, principal: principal, parameters: parameters)
        }
        return ObjectListingPage(
            objects: page.compactMap { if case .object(let record) = $0 { record } else { nil } },
            commonPrefixes: page.compactMap { if case .prefix(let common) = $0 { common } else { nil } },
            nextPageToken: next, changeCursor: changeCursor)
    }

    /// The common prefix `name` rolls up into, if the delimiter occurs after the prefix.
    static func commonPrefix(of name: String, prefix: String, delimiter: String) -> String? {
        guard !delimiter.isEmpty else { return nil }
        let bytes = Array(name.utf8)
        let start = prefix.utf8.count
        let needle = Array(delimiter.utf8)
        guard bytes.count >= start + needle.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if Array(bytes[index..<(index + needle.count)]) == needle {
                return String(decoding: bytes[..<(index + needle.count)], as: UTF8.self)
            }
            index += 1
        }
        return nil
    }
}

/// An entry of a listing page, in name order.
enum ListingEntry: Sendable {
    case object(ObjectVersionRecord)
    case prefix(String)
}

/// Where a listing resumes: after an object name, or past every name under a prefix.
/// Carried inside an authenticated page token (``PageTokens``).
enum ListingCursor {
    static func encode(_ entry: ListingEntry) -> String {
        switch entry {
        case .object(let record): "o" + record.name
        case .prefix(let common): "p" + common
        }
    }

    static func decode(_ cursor: String?) throws(StorageError) -> (key: String, isPrefix: Bool)? {
        guard let text = cursor else { return nil }
        // The kind is the first byte, not the first Character: a key that starts with a
        // combining mark would join it into one grapheme.
        guard let kind = text.utf8.first, kind == UInt8(ascii: "o") || kind == UInt8(ascii: "p") else {
            throw .invalidArgument("page_token is not one this server issued; pass the next_page_token you received")
        }
        return (String(decoding: text.utf8.dropFirst(), as: UTF8.self), kind == UInt8(ascii: "p"))
    }
}
