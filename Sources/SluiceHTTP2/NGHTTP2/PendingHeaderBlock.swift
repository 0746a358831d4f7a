import SluiceRPC

/// The header block being received. HEADERS and its CONTINUATIONs arrive back to back
/// (RFC 9113 section 6.10), so one block is in progress at a time.
///
/// A class, updated in place: nghttp2 calls back once per field, and a peer can send a
/// block of hundreds of thousands of one-byte references to a large table entry. Once the
/// block passes the header list limit its fields are dropped and each further field costs
/// one addition, so such a block is cheap to refuse.
final class PendingHeaderBlock {
    let streamID: Int32
    private(set) var fields: [HeaderField] = []
    /// The header list size so far, counted as RFC 9113 section 6.5.2 does.
    private(set) var size = 0
    private(set) var oversized = false

    init(streamID: Int32) {
        self.streamID = streamID
    }

    /// Counts a field against `limit`; keeps it (made by `makeField`) only while under it.
    func add(nameLength: Int, valueLength: Int, limit: Int, makeField: () -> HeaderField) {
        size += nameLength + valueLength + 32
        guard !oversized else { return }
        if size > limit {
            oversized = true
            fields = []
        } else {
            fields.append(makeField())
        }
    }
}
