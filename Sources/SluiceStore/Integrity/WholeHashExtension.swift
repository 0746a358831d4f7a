import SluiceOpenSSL

/// Extends a whole-object SHA-256 over stored partitions, read back in order.
///
/// Each partition is read whole and checked against its own SHA-256 on the way
/// (``VerifiedBlobBytes``), so a whole hash is only ever computed over bytes that are what
/// their partition declared: a damaged one throws (and is recorded in the ledger) and the
/// hash is not extended past it.
struct WholeHashExtension {
    let blobs: any BlobStore
    let ledger: DamageLedger
    /// The object as messages name it ("object 12 version 3", "upload session …").
    let object: String

    /// Bytes per read while hashing.
    static let chunkSize = 1 << 20

    /// `whole` extended over `partitions`, in the order given.
    ///
    /// The two hashes per byte (the partition's, checked as it is read, and the whole
    /// object's) run on two threads: a chunk joins the whole hash in a task of its own while
    /// the next is read and checked. One such task at a time, so the chunks in flight stay the
    /// reader's three buffers however far the reading gets ahead.
    func extend(_ whole: ResumableSHA256, over partitions: [PartitionRecord]) async throws -> ResumableSHA256 {
        var whole = whole
        var joining: Task<ResumableSHA256, Never>?
        for partition in partitions {
            let key = try BlobKey(scope: partition.blobScope, sha256: partition.sha256)
            let bytes = VerifiedBlobBytes(
                blobs: blobs, key: key, range: 0..<partition.size, blobSize: partition.size, chunkSize: Self.chunkSize,
                partition: partition.index, of: object, ledger: ledger, damageRecorded: partition.damageRecorded)
            for try await chunk in bytes {
                if let joining { whole = await joining.value }
                let before = whole
                joining = Task {
                    var after = before
                    chunk.withUnsafeBytes { after.update($0) }
                    return after
                }
            }
        }
        if let joining { whole = await joining.value }
        return whole
    }
}
