import SluiceOpenSSL

/// The composite hash the server publishes for an object version (ObjectInfo.composite_sha256):
/// SHA-256 of the partitions' SHA-256s concatenated in order. A client that checks every
/// partition it receives against its SHA-256, and the partition list against this, has
/// checked the whole object without hashing its bytes a second time.
enum CompositeDigest {
    static func of<Digests: Sequence>(_ partitions: Digests) -> [UInt8] where Digests.Element == [UInt8] {
        var hasher = SHA256()
        for digest in partitions { hasher.update(digest) }
        return hasher.finalize()
    }
}
