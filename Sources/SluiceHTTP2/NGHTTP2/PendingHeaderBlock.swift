import SluiceRPC

/// The header block being received. HEADERS and its CONTINUATIONs arrive back to back
/// (RFC 9113 section 6.10), so one block is in progress at a time.
///
/// A class, updated in place: nghttp2 calls back once per field. Once the block passes the
/// header list limit its fields are dropped (the request is answered RESOURCE_EXHAUSTED);
/// once it passes `abandonFactor` times the limit, the rest of the block is not looked at
/// (see `add`, and `HTTP2SessionCallbacks.onHeader`).
final class PendingHeaderBlock {
    /// How far past the header list limit a block may go before it is abandoned.
    static let abandonFactor = 4

    let streamID: Int32
    private(set) var fields: [HeaderField] = []
    /// The header list size so far, counted as RFC 9113 section 6.5.2 does.
    private(set) var size = 0
    private(set) var oversized = false
    /// Set once the block went to the delegate before its end (past `abandonFactor`).
    var isDelivered = false

    init(streamID: Int32) {
        self.streamID = streamID
    }

    /// Counts a field against `limit`; keeps it (made by `makeField`) only while under it.
    /// Returns false once the block is far past the limit and its rest must be skipped: a peer can
    /// send hundreds of thousands of one-byte references to a 4 KiB table entry, and nghttp2
    /// validates and hands over every one of them (~0.7 CPU-s per 512 KiB block) while the
    /// stream is open; once it is closed, nghttp2 only keeps its decoding table in step.
    func add(nameLength: Int, valueLength: Int, limit: Int, makeField: () -> HeaderField) -> Bool {
        size += nameLength + valueLength + 32
        if oversized { return size <= limit * Self.abandonFactor }
        if size > limit {
            oversized = true
            fields = []
            return size <= limit * Self.abandonFactor
        }
        fields.append(makeField())
        return true
    }
}
