import SluiceOpenSSL

/// A SHA-256 in progress that a copyable value can hold (the hasher itself is
/// non-copyable); owned by one iterator, used by one task at a time.
final class RunningSHA256 {
    private var hasher = SHA256()

    func update(_ bytes: [UInt8]) { hasher.update(bytes) }

    /// The digest of everything so far; the hasher starts over.
    func finalize() -> [UInt8] {
        var done = SHA256()
        swap(&done, &hasher)
        return done.finalize()
    }
}
