import SluiceOpenSSL

/// Follows a listing's `next_page_token`s and stops a listing that would never end: a server
/// that answers a token it gave before (the same pages would come round again), or page after
/// page without an item. Every paged listing of the client walks its pages through one.
struct PageTokens {
    /// Pages without items in a row after which a listing is taken to never end: sluiced ends
    /// a page early only at its byte budget, which takes items.
    static let maxEmptyPages = 100

    /// What the listing is, for the error ("listing of 'photos/'").
    let listing: String
    /// SHA-256s of the tokens given so far (a token may be long).
    private var seen: Set<[UInt8]> = []
    private var emptyPages = 0

    init(_ listing: String) {
        self.listing = listing
    }

    /// Walks a paged listing: asks for each page with `fetch` (given the page token, retried
    /// under `retry`), hands it to `each`, which answers the page's next token and how many
    /// items it held, and follows the tokens as ``next(_:items:)`` does.
    static func walk<Page>(
        _ listing: String, retry: RetryPolicy, fetch: (String) async throws -> Page,
        each: (Page) throws -> (next: String, items: Int)
    ) async throws {
        var tokens = PageTokens(listing)
        var token = ""
        repeat {
            let asked = token
            let page = try await retry.run(listing) { try await fetch(asked) }
            let (next, items) = try each(page)
            token = try tokens.next(next, items: items)
        } while !token.isEmpty
    }

    /// The token to ask for next, "" once the listing is done.
    /// - Throws: `EndlessListingError` when `token` was given before, or after too many
    ///   empty pages in a row.
    mutating func next(_ token: String, items: Int) throws -> String {
        guard !token.isEmpty else { return token }
        emptyPages = items == 0 ? emptyPages + 1 : 0
        guard emptyPages <= Self.maxEmptyPages else {
            throw EndlessListingError(
                "the server answered \(emptyPages) empty pages in a row of the \(listing), each with a next page; "
                    + "the listing would never end")
        }
        var hasher = SHA256()
        hasher.update(Array(token.utf8))
        guard seen.insert(hasher.finalize()).inserted else {
            throw EndlessListingError(
                "the server answered page \(seen.count + 1) of the \(listing) with a page token it gave before; "
                    + "the listing would never end")
        }
        return token
    }
}

/// A server's listing that would go round for ever (a repeated page token); like other
/// answers that break the protocol, a failure of its own (exit 1), not retried.
public struct EndlessListingError: Error, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
