import SluiceOpenSSL

/// A range of one blob as chunks. When the range is the whole blob, the chunks are hashed
/// as they stream and the last one is held back until the hash matches the blob's address:
/// a reader never receives all of a partition whose stored bytes are damaged, and the
/// stream ends with DATA_LOSS instead of OK. A partial range is served as stored (checking
/// it would mean reading the whole blob); clients verify those against the partition hash.
///
/// Bytes that turn out missing or cut short end the stream as the ledger judges them: NOT_FOUND
/// when the version was deleted (and its blob collected) during the read, DATA_LOSS otherwise
/// (``DamageLedger/refusal(for:key:partition:of:)``).
///
/// Holding one chunk back costs one chunk of memory per stream (a read-ahead of one).
///
/// A whole-blob read that hashes right clears the blob's `damaged_blobs` row (when the
/// partition was loaded with one: `damageRecorded`), as the scrubber does: a finding can come
/// from bytes damaged on their way from storage (an S3 GET whose body was corrupted in transit,
/// a transient 404), not in it, and a row left behind would keep the blob from being offered
/// for deduplication for good. Confirming each finding with a second
/// read before recording it was the alternative; it was not chosen because the second read
/// takes the same path and can be damaged the same way, while an intact whole read is proof
/// that the stored bytes are right. Truly damaged bytes never hash right, so their row stays
/// until an upload of the same bytes rewrites the blob (or the scrubber finds it intact).
public struct VerifiedBlobBytes: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    let blobs: any BlobStore
    let key: BlobKey
    let range: Range<Int64>
    /// The blob's size, when known, so a whole-blob range can be recognised; nil serves the range unverified.
    let blobSize: Int64?
    let chunkSize: Int
    /// The partition's index, and the object it belongs to as messages name it ("'a.bin'
    /// version 2"), for a DATA_LOSS or NOT_FOUND message.
    let partition: Int
    let object: String
    /// Where damage is recorded and missing bytes judged, if anywhere; without one, missing
    /// bytes end the stream with the blob store's own error.
    let ledger: DamageLedger?
    /// Whether the ledger held a finding about the blob when its partition was loaded.
    let damageRecorded: Bool

    public init(
        blobs: any BlobStore, key: BlobKey, range: Range<Int64>, blobSize: Int64?, chunkSize: Int, partition: Int,
        of object: String, ledger: DamageLedger? = nil, damageRecorded: Bool = false
    ) {
        self.ledger = ledger
        self.damageRecorded = damageRecorded
        self.blobs = blobs
        self.key = key
        self.range = range
        self.blobSize = blobSize
        self.chunkSize = chunkSize
        self.partition = partition
        self.object = object
    }

    var verifies: Bool { blobSize.map { range.lowerBound == 0 && range.upperBound == $0 && $0 > 0 } ?? false }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var chunks: BlobChunks.Iterator
        let verifies: Bool
        let key: BlobKey
        let partition: Int
        let object: String
        let ledger: DamageLedger?
        let damageRecorded: Bool
        let hasher = RunningSHA256()
        var started = false
        var held: [UInt8]?

        public mutating func next() async throws -> [UInt8]? {
            guard verifies else { return try await nextChunk() }
            if !started {
                started = true
                held = try await fetch()
            }
            guard let current = held else { return nil }
            held = try await fetch()
            if held == nil {
                let actual = hasher.finalize()
                guard actual == key.sha256 else {
                    let what = "partition \(partition) of \(object)"
                    await ledger?.record(key, by: "read", detail: "\(what) hashes to \(Hex.encode(actual))")
                    throw StorageError.dataLoss(
                        "\(what) is damaged in storage: its bytes hash to \(Hex.encode(actual)), not "
                            + "\(Hex.encode(key.sha256)); nothing more is served. Uploading the same bytes again repairs it")
                }
                if damageRecorded { await ledger?.clear(key) }
            }
            return current
        }

        private mutating func fetch() async throws -> [UInt8]? {
            let chunk = try await nextChunk()
            if let chunk { hasher.update(chunk) }
            return chunk
        }

        private mutating func nextChunk() async throws -> [UInt8]? {
            do {
                return try await chunks.next()
            } catch let error as BlobError where error.meansStoredBytesAreGone {
                guard let ledger else { throw error }
                throw try await ledger.refusal(for: error, key: key, partition: partition, of: object)
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(
            chunks: blobs.read(key, range: range, chunkSize: chunkSize).makeAsyncIterator(), verifies: verifies,
            key: key, partition: partition, object: object, ledger: ledger, damageRecorded: damageRecorded)
    }
}
