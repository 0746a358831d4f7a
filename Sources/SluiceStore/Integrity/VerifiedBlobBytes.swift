import SluiceOpenSSL

/// A range of one blob as chunks. When the range is the whole blob, the chunks are hashed
/// as they stream and the last one is held back until the hash matches the blob's address:
/// a reader never receives all of a partition whose stored bytes are damaged, and the
/// stream ends with DATA_LOSS instead of OK. A partial range is served as stored (checking
/// it would mean reading the whole blob); clients verify those against the partition hash.
///
/// Holding one chunk back costs one chunk of memory per stream (a read-ahead of one).
public struct VerifiedBlobBytes: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    let blobs: any BlobStore
    let key: BlobKey
    let range: Range<Int64>
    /// The blob's size, when known, so a whole-blob range can be recognised; nil serves the range unverified.
    let blobSize: Int64?
    let chunkSize: Int
    /// Names the bytes in a DATA_LOSS message ("partition 3 of 'a.bin' version 2").
    let what: String
    /// Where a mismatch is recorded, if anywhere.
    let ledger: DamageLedger?

    public init(
        blobs: any BlobStore, key: BlobKey, range: Range<Int64>, blobSize: Int64?, chunkSize: Int, what: String,
        ledger: DamageLedger? = nil
    ) {
        self.ledger = ledger
        self.blobs = blobs
        self.key = key
        self.range = range
        self.blobSize = blobSize
        self.chunkSize = chunkSize
        self.what = what
    }

    var verifies: Bool { blobSize.map { range.lowerBound == 0 && range.upperBound == $0 && $0 > 0 } ?? false }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: BlobChunks.Iterator
        let verifies: Bool
        let key: BlobKey
        let what: String
        let ledger: DamageLedger?
        let hasher = RunningSHA256()
        var started = false
        var held: [UInt8]?

        public mutating func next() async throws -> [UInt8]? {
            guard verifies else { return try await chunks.next() }
            if !started {
                started = true
                held = try await fetch()
            }
            guard let current = held else { return nil }
            held = try await fetch()
            if held == nil {
                let actual = hasher.finalize()
                guard actual == key.sha256 else {
                    await ledger?.record(key, by: "read", detail: "\(what) hashes to \(Hex.encode(actual))")
                    throw StorageError.dataLoss(
                        "\(what) is damaged in storage: its bytes hash to \(Hex.encode(actual)), not "
                            + "\(Hex.encode(key.sha256)); nothing more is served. Uploading the same bytes again repairs it")
                }
            }
            return current
        }

        private mutating func fetch() async throws -> [UInt8]? {
            let chunk = try await chunks.next()
            if let chunk { hasher.update(chunk) }
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(
            chunks: blobs.read(key, range: range, chunkSize: chunkSize).makeAsyncIterator(), verifies: verifies,
            key: key, what: what, ledger: ledger)
    }
}
