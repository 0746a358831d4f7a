/// Where the S3 store keeps blobs in its bucket:
///
///     <prefix>blobs/<scope>/<hex>
///
/// Keys are built only from a ``BlobKey`` (validated scope and digest), so listing them in key
/// order lists blobs by scope, then digest — the same order as the disk store. S3 needs no
/// fan-out: its key space is flat and partitions itself.
struct S3BlobLayout: Sendable {
    /// Empty, or ending in "/".
    let prefix: String

    /// Every blob key starts with this.
    var blobsPrefix: String { prefix + "blobs/" }

    func objectKey(of key: BlobKey) -> String {
        blobsPrefix + key.scope + "/" + key.hex
    }

    /// The blob an object key names, or nil for anything else that may sit under the prefix.
    func blobKey(ofObject objectKey: String) -> BlobKey? {
        guard objectKey.hasPrefix(blobsPrefix) else { return nil }
        let parts = objectKey.dropFirst(blobsPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        return try? BlobKey(scope: String(parts[0]), hex: String(parts[1]))
    }
}
