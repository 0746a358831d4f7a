// Fuzzes page tokens: any token a client sends is either refused with a StorageError or
// redeems to a cursor; every token the server issues redeems to exactly the cursor it was
// made from, and only for the listing, principal and parameters it was issued for.
//
// Input: the token text (also used as the cursor and a parameter of the tokens issued).
import FuzzSupport
@testable import SluiceStore

private let tokens = PageTokens(key: Array(repeating: 0x5A, count: PageTokens.minimumKeyBytes))
private let caller = Principal(id: 7, name: "CN=fuzz")
private let other = Principal(id: 8, name: "CN=other")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPageToken(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let text = String(decoding: bytes, as: UTF8.self)

    _ = try? tokens.redeem(text, for: .objects, principal: caller, parameters: ["", "/"])
    _ = try? ListingCursor.decode(text)
    _ = try? Paging.size(bytes.count - 16, limit: 1000)

    let issued = tokens.issue(text, for: .objects, principal: caller, parameters: [text, "/"])
    guard let cursor = try? tokens.redeem(issued, for: .objects, principal: caller, parameters: [text, "/"]) else {
        preconditionFailure("a token the server issued was refused")
    }
    precondition(cursor == text, "a token changed its cursor")
    precondition((try? tokens.redeem(issued, for: .objects, principal: other, parameters: [text, "/"])) == nil,
                 "another principal's token was accepted")
    precondition((try? tokens.redeem(issued, for: .versions, principal: caller, parameters: [text, "/"])) == nil,
                 "a token was accepted for another listing")
    precondition((try? tokens.redeem(issued, for: .objects, principal: caller, parameters: [text + "x", "/"])) == nil,
                 "a token was accepted for other parameters")

    if !text.utf8.contains(0) {
        guard let listing = try? ListingCursor.decode(ListingCursor.encode(.prefix(text))) else {
            preconditionFailure("a listing cursor the server made was refused")
        }
        precondition(listing.key == text && listing.isPrefix, "a listing cursor changed its key")
    }
    return 0
}

runFuzzer(fuzzPageToken)
