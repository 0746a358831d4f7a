// Fuzzes page tokens: any token a client sends is either refused with a StorageError or
// decodes; every token the server issues decodes back to the cursor it was made from.
//
// Input: the token text (also used as the listing key and session cursor that are encoded).
import FuzzSupport
@testable import SluiceStore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPageToken(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: start, count: count))
    let text = String(decoding: bytes, as: UTF8.self)

    _ = try? Paging.decode(text)
    _ = try? Paging.decodeSessionCursor(text)
    _ = try? ListingCursor.decode(text)
    _ = try? Paging.size(bytes.count - 16, limit: 1000)

    // Tokens made from any key or cursor decode to what they were made from.
    if !text.utf8.contains(0) {
        guard let listing = try? ListingCursor.decode(ListingCursor.encode(.prefix(text))) else {
            preconditionFailure("a listing token the server issued was refused")
        }
        precondition(listing.key == text && listing.isPrefix, "a listing token changed its cursor")
    }
    var micros: Int64 = 0
    for byte in bytes.prefix(8) { micros = micros << 8 | Int64(byte) }
    // Session ids are 16 bytes.
    let given = Array(bytes.dropFirst(8).prefix(16))
    let id = given + Array(repeating: 0, count: 16 - given.count)
    let token = Paging.encodeSessionCursor(createdMicros: micros, id: id)
    guard let session = try? Paging.decodeSessionCursor(token) else {
        preconditionFailure("a session token the server issued was refused")
    }
    precondition(session.createdMicros == micros && session.id == id, "a session token changed its cursor")
    return 0
}

runFuzzer(fuzzPageToken)
