import SluicePostgres

/// The items of one listing page as they are gathered, in order: at most `size` of them, and
/// at most ``PageBudget/maxBytes`` of encoded bytes, except that the first item always fits.
/// The first item that does not fit says there is more after the page (its listing then issues
/// a next page token after the page's last item).
struct ListingPage<Item> {
    /// The page size asked for.
    let size: Int
    private(set) var items: [Item] = []
    /// The encoded size of `items`, as ``PageBudget`` estimates it.
    private(set) var bytes = 0
    /// Set once an item did not fit: the listing goes on after `items`.
    private(set) var hasMore = false

    init(size: Int) {
        self.size = size
    }

    /// Adds `item` of `bytes` encoded bytes if it fits; false (and ``hasMore``) when it does not,
    /// and the page is complete.
    mutating func add(_ item: Item, bytes: Int) -> Bool {
        guard items.count < size, items.isEmpty || self.bytes + bytes <= PageBudget.maxBytes else {
            hasMore = true
            return false
        }
        items.append(item)
        self.bytes += bytes
        return true
    }
}

extension ListingPage {
    /// Reads a page in batches of rows bounded by ``PageBudget/bounded(_:order:)``, each of at
    /// most `size + 1` rows: `batch` fetches the rows after the listing's cursor, `item` makes a
    /// row a page item with its encoded size (and moves the cursor past it), until the page is
    /// full, its budget is reached, or the listing ends.
    static func read(
        size: Int, batch: () throws -> [PostgresRow], item: (PostgresRow) throws -> (Item, bytes: Int)
    ) throws -> ListingPage {
        var page = ListingPage(size: size)
        while true {
            let rows = try batch()
            for row in rows {
                let (next, bytes) = try item(row)
                guard page.add(next, bytes: bytes) else { return page }
            }
            // A batch reads one more item than the page holds: one that fits nowhere means more.
            if rows.count <= size, try !PageBudget.cutShort(rows) { return page }
        }
    }
}
